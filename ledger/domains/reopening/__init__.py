"""Enterprise reopening filings (企业复工报备).

An ``enterprise`` files its reopening (``reopening.file``) and amends it with new complete
versions (``reopening.amend``); the reviewing body the routing rule names approves, rejects
or returns it (``reopening.review``, role ``approver``); an approver of the district records
on-site inspections (``reopening.inspect``); ``governance`` sets the routing rule
(``reopening.configure``). See docs/domains/reopening.md.

``schemas`` the payloads and the credit code check, ``state`` the records, the reviewing
bodies and the stored routing rule, ``rules`` the checks, transitions and the routing rule
in force, ``verify`` the offline check of a filing from its receipts, ``views`` what the API
shows, ``demo`` the demo generator and example payloads. Routes: ``api/domains/reopening.py``.
"""
