"""The FHIR resource types the gateway serves, and what may be done with each."""
