"""The rehabkoordinator inbox: web pages for vårdcentraler with no journal integration.

Kept import-light: ``gateway.store.models`` imports :mod:`gateway.web.inbox.models`.
"""
