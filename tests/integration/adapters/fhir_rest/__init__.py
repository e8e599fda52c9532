"""The fhir-rest journal adapter and the shared inbound seam."""
