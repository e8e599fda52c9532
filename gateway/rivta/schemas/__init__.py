"""The project's RIVTA service contract, domain ``urn:riv:kvgateway:medicalstatement``
version 1: XSDs and WSDLs (data files; :mod:`gateway.rivta.contract` loads them)."""
