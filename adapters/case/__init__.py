"""Kommun-side adapters: fhir, webhook, file drop, mapped vendor formats."""
