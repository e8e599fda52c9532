"""FHIR search: declared parameters, query parsing, index extraction and SQL."""
