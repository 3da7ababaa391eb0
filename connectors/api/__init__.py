"""Talking to the Personyze REST API: the path grammar (``query``), the httpx client
(``client``), the exception tree and its status/body table (``errors``), key redaction
(``redact``), and which failures a user fixes (``failures``).

May import: ``connectors.spec`` and ``connectors.settings``. ``query`` imports nothing of the
project, so the sandbox can parse paths with it without taking the client. This file imports
nothing on purpose.
"""
