"""RIVTA delivery over the national service platform (NTjP): the ``rivta`` journal adapter.

It sends ``ProcessMedicalStatementRequest`` (the project's own service contract, see
:mod:`gateway.rivta.contract`) to the care unit's logical address over mutual TLS; the
unit's answer comes back by ``UpdateMedicalStatementRequest`` to the gateway's inbound
endpoint, so there is nothing to poll.
"""

from adapters.journal.rivta.adapter import RivtaAdapter
from adapters.journal.rivta.settings import RivtaJournalSettings

__all__ = ["RivtaAdapter", "RivtaJournalSettings"]
