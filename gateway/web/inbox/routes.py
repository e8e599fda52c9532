"""The inbox's pages under ``/inbox`` (the app includes :data:`router`)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.web.inbox import answer, downloads, signin, tasks

router = APIRouter()
for _pages in (signin, tasks, answer, downloads):
    router.include_router(_pages.router, include_in_schema=False)
