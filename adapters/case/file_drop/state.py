"""The adapter's memory between rounds, in ``state.json`` beside the folders.

- ``mark``: the ``meta.lastUpdated`` of the newest Task change written out, and
  ``seen_at_mark`` the Task versions at exactly that instant already handled (so a search
  ``_lastUpdated=ge<mark>`` neither misses a change made in the same instant nor writes
  one twice). The mark only moves after the files for a change are written.
- ``cases``: Task id → the kommun's case id (learnt from receipts or the ServiceRequest),
  and ``foreign``: Task ids of requests not from this case system (sent some other way).
- ``written``: Task id → the last status written, so a version that changes nothing the
  case system sees (a note, say) writes no file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from adapters.case.file_drop.writeback import write_atomically

STATE_FILE = "state.json"


class StateError(Exception):
    """``state.json`` cannot be read as the adapter wrote it: an operator must mend it or
    move it aside (the adapter then starts over: what the gateway already has is found
    again by its idempotency keys, and status files may be written once more)."""


@dataclass
class AdapterState:
    mark: str | None = None
    seen_at_mark: list[str] = field(default_factory=list)
    cases: dict[str, str] = field(default_factory=dict)
    foreign: list[str] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> AdapterState:
        path = root / STATE_FILE
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            state = cls(
                mark=data.get("mark"),
                seen_at_mark=[str(v) for v in data.get("seen_at_mark") or []],
                cases={str(k): str(v) for k, v in (data.get("cases") or {}).items()},
                foreign=[str(v) for v in data.get("foreign") or []],
                written={str(k): str(v) for k, v in (data.get("written") or {}).items()},
            )
            if state.mark is not None and _instant(state.mark).tzinfo is None:
                raise ValueError("the mark has no time zone")
        except (ValueError, TypeError, AttributeError) as error:
            raise StateError(
                f"{path} cannot be read ({type(error).__name__}); mend it or move it aside"
            ) from None
        return state

    def save(self, root: Path) -> None:
        write_atomically(root, STATE_FILE, json.dumps(asdict(self), indent=1).encode("utf-8"))

    def advance(self, last_updated: str, version: str) -> None:
        if last_updated != self.mark:
            self.mark, self.seen_at_mark = last_updated, []
        self.seen_at_mark.append(version)

    def seen(self, last_updated: str, version: str) -> bool:
        if self.mark is None:
            return False
        if last_updated == self.mark:
            return version in self.seen_at_mark
        return _instant(last_updated) < _instant(self.mark)


def _instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
