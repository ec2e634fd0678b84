"""Trusted education identity cards (可信教育数字身份): docs/domains/edu_card.md.

Schools issue cards as SM2-signed credentials whose claims are salted SM3 digests; holders
disclose only the claims a verifier needs. ``_format`` the credential format (disclosures,
digests, signing, issuing, QR codes, reading a card); ``verify`` the offline check a school
or an employer runs on a presented card; ``schemas`` the payloads of ``edu_card.issue``,
``suspend``, ``reinstate``, ``revoke`` and ``renew``; ``rules`` their checks and transitions;
``state`` the card records and a card's status at a block time; ``views`` what the API
shows; ``demo`` the demo data.
"""
