"""The API's documentation, served by the local stack next to the API it describes:

- GET /docs               Swagger UI on the committed OpenAPI document, with try-it-out against
                          this stack (docs-ui/index.html and docs-ui/pushgate-docs.js)
- GET /docs/ui/<asset>    Swagger UI's own files, from the pinned npm package swagger-ui-dist
                          (docs-ui/package-lock.json; `make docs-ui` runs `npm ci`): no CDN
- GET /docs/openapi.json  the committed OpenAPI 3.1 document (docs/openapi.json)
- GET /docs/errors        every error code per surface (docs/errors.md), where the channel API's
                          error `type` links point (`/docs/errors#<code>-<status>`)

Assets are served from a fixed list of names, never from a path taken from the request."""

from __future__ import annotations

from pathlib import Path

from pushgate_local.http_events import HttpResponse
from pushgate_local.template import REPO_ROOT

DOCS = REPO_ROOT / "docs"
DOCS_UI = REPO_ROOT / "docs-ui"
SWAGGER_UI_DIST = DOCS_UI / "node_modules" / "swagger-ui-dist"
UI_PREFIX = "/docs/ui/"
INSTALL_HINT = "make docs-ui (npm ci --ignore-scripts --prefix docs-ui)"

JS, CSS, PNG = "text/javascript; charset=utf-8", "text/css; charset=utf-8", "image/png"
# name under /docs/ui/ -> (file, content type)
UI_ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui.css": (SWAGGER_UI_DIST / "swagger-ui.css", CSS),
    "swagger-ui-bundle.js": (SWAGGER_UI_DIST / "swagger-ui-bundle.js", JS),
    "favicon-32x32.png": (SWAGGER_UI_DIST / "favicon-32x32.png", PNG),
    "favicon-16x16.png": (SWAGGER_UI_DIST / "favicon-16x16.png", PNG),
    "pushgate-docs.js": (DOCS_UI / "pushgate-docs.js", JS),
}
PAGES: dict[str, tuple[Path, str]] = {
    "/docs": (DOCS_UI / "index.html", "text/html; charset=utf-8"),
    "/docs/openapi.json": (DOCS / "openapi.json", "application/json"),
    "/docs/errors": (DOCS / "errors.md", "text/markdown; charset=utf-8"),
}


def _not_installed() -> HttpResponse:
    body = (
        "<!DOCTYPE html><meta charset=utf-8><title>pushgate API</title>"
        f"<p>Swagger UI is not installed: run <code>{INSTALL_HINT}</code> (make run and make test do), "
        'then reload. The OpenAPI document is at <a href="/docs/openapi.json">/docs/openapi.json</a>.</p>'
    )
    return HttpResponse(503, [("content-type", "text/html; charset=utf-8")], body.encode())


def _file(path: Path, content_type: str) -> HttpResponse:
    # Read on each request: the files are small, and an edited spec shows without a restart.
    return HttpResponse(200, [("content-type", content_type), ("cache-control", "no-cache")], path.read_bytes())


def docs_response(method: str, path: str) -> HttpResponse | None:
    """The page or asset for a GET of one of the docs paths, or None for anything else."""
    if method != "GET":
        return None
    if path.startswith(UI_PREFIX):
        asset = UI_ASSETS.get(path[len(UI_PREFIX):])
        if asset is None:
            return None
        return _file(*asset) if asset[0].is_file() else _not_installed()
    page = PAGES.get(path.rstrip("/"))
    if page is None:
        return None
    if page[0].parent == DOCS_UI and not SWAGGER_UI_DIST.is_dir():
        return _not_installed()
    return _file(*page)
