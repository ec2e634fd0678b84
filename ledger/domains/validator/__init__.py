"""Validator set changes (system domain): which members certify blocks, with what power.

``validator.add``, ``validator.remove`` and ``validator.set_power``, submitted by governance,
take effect ``CHANGE_DELAY`` blocks later (docs/consensus.md, "Validator set changes").
``schemas`` the payloads, ``rules`` the checks, ``state`` the change batch and the schedule
of sets, ``verify`` the handover checks of a receipt, ``views`` what the API shows, ``demo``
the demo generators' validator changes.
"""
