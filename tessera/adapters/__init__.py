"""The only modules that reach into private internals of libraries (label-studio-sdk, CPython's json).

Each private name is used from exactly one module here, and tests/tessera/test_adapters.py pins the
behaviour relied on, so that an upgrade that changes it fails a test rather than production.
"""
