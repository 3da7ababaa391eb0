"""personyze-sandbox: a local Personyze REST API (and tracker-v1) on SQLite, for tests, the demo
and pipeline development before touching a live account.

It is not part of the connectors: it answers from its own reading of the documented rules and
imports from the core only the spec models (``connectors.spec``) and the path grammar's parser
(``connectors.api.query``), never the client, so a bug in the client cannot hide in it.
"""
