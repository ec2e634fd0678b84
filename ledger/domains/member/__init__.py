"""Membership (system domain): who belongs to the consortium, with which roles and keys.

``member.register``, ``member.rotate_key`` and ``member.revoke``, submitted by governance.
``schemas`` the payloads, ``rules`` the checks and transitions, ``state`` the registry,
``verify`` offline checks of a member's key, ``views`` what the API shows, ``demo`` the
demo generators' keys and registrations.
"""
