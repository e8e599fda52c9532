"""Region-side adapters: fhir_rest, rivta, inbox."""
