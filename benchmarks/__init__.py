"""Reproducible benchmarks of kv-gateway (run as scripts, see benchmarks/README.md)."""
