"""The public landing page: what the gateway is, in Swedish, with links onward."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from gateway import __version__

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    return templates.TemplateResponse(
        request,
        "landing.html",
        {
            "fhir_base": settings.fhir_base_url,
            "version": __version__,
            "demo": settings.auth_mode.value == "demo",
        },
    )
