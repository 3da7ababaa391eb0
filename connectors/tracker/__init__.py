"""Tracker API v1 (``/rest/tracker-v1``): the client (``client``), the tracker command table
applied to argument lists (``commands``), and the ``personyze-recommend`` command line
(``cli``).

May import: ``connectors.api``, ``connectors.settings`` and ``connectors.spec``.
"""
