"""kv-gateway: the kommun–vård interoperability gateway."""

__version__ = "0.1.0"
