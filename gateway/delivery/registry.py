"""Finding the adapter for an Endpoint.connectionType through entry points."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from gateway.delivery.protocols import JournalAdapter

JOURNAL_GROUP = "kv_gateway.journal_adapters"


class AdapterRegistry:
    def __init__(self, adapters: dict[str, JournalAdapter] | None = None) -> None:
        self._adapters = dict(adapters or {})

    @classmethod
    def from_entry_points(cls) -> AdapterRegistry:
        return cls(dict(_installed_adapters()))

    def register(self, adapter: JournalAdapter) -> None:
        self._adapters[adapter.connection_type] = adapter

    def for_endpoint(self, endpoint: dict[str, Any]) -> JournalAdapter | None:
        connection = endpoint.get("connectionType") or {}
        return self._adapters.get(str(connection.get("code", "")))

    @property
    def connection_types(self) -> list[str]:
        return sorted(self._adapters)


@cache
def _installed_adapters() -> tuple[tuple[str, JournalAdapter], ...]:
    found: list[tuple[str, JournalAdapter]] = []
    for entry in entry_points(group=JOURNAL_GROUP):
        adapter = entry.load()()
        found.append((adapter.connection_type, adapter))
    return tuple(found)
