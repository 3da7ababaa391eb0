"""personyze-connectors core, in layers (each imports only those below it; see ARCHITECTURE.md):

- ``read`` | ``write``: the read engine and streams | the write engine (independent of each other)
- ``tracker``: the tracker-v1 client and the ``personyze-recommend`` command line
- ``api``: the path grammar, the REST client, its errors, redaction
- ``settings``: connection settings and their JSON Schema
- ``spec``: the spec models and loading

The sandbox (``personyze_sandbox``) and the adapters are separate packages; the core imports
neither.
"""

__version__ = "0.1.0"
