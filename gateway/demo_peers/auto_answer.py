"""How quickly a demo journal system's staff act on a request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AutoAnswer:
    """For the demo: accept a request after ``accept_after`` seconds, and answer it on the
    national form after ``answer_after`` seconds."""

    accept_after: float = 3.0
    answer_after: float = 8.0
