"""The API's documentation, served by the local stack next to the API it describes:

- GET /docs               a browsable page of every operation (rendered from the OpenAPI document)
- GET /docs/openapi.json  the committed OpenAPI 3.1 document (docs/openapi.json)
- GET /docs/errors        every error code per surface (docs/errors.md), where the channel API's
                          error `type` links point (`/docs/errors#<code>-<status>`)"""

from __future__ import annotations

import json
from functools import lru_cache

from pushgate_local.http_events import HttpResponse
from pushgate_local.template import REPO_ROOT

DOCS = REPO_ROOT / "docs"


@lru_cache(maxsize=1)
def _pages() -> dict[str, tuple[str, bytes]]:
    from pushgate_docs.html import render_html

    openapi = (DOCS / "openapi.json").read_bytes()
    return {
        "/docs": ("text/html; charset=utf-8", render_html(json.loads(openapi)).encode("utf-8")),
        "/docs/openapi.json": ("application/json", openapi),
        "/docs/errors": ("text/markdown; charset=utf-8", (DOCS / "errors.md").read_bytes()),
    }


def docs_response(method: str, path: str) -> HttpResponse | None:
    """The page for a GET of one of the docs paths, or None for anything else."""
    if method != "GET" or path.rstrip("/") not in ("/docs", "/docs/openapi.json", "/docs/errors"):
        return None
    content_type, body = _pages()[path.rstrip("/")]
    return HttpResponse(200, [("content-type", content_type)], body)
