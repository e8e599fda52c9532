"""The fhir-rest journal adapter: journal systems with a FHIR R4 API (Cosmic, Millennium …).

Configuration: :mod:`.config`; authentication: :mod:`.smart` and :mod:`.transport`; what
is sent: :mod:`.payload`; how the peer's Task maps onto ours: :mod:`.status_map`.
"""

from adapters.journal.fhir_rest.adapter import FhirRestAdapter

__all__ = ["FhirRestAdapter"]
