"""/docs on the local stack (src/pushgate_local/docs_routes.py): Swagger UI from the pinned npm
package, its page and every asset the page references, the OpenAPI document and the error codes.
That the UI renders and try-it-out works is tests/browser/test_browser_docs.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pushgate_local import docs_routes
from pushgate_local.docs_routes import DOCS, DOCS_UI, SWAGGER_UI_DIST, docs_response

needs_swagger_ui = pytest.mark.skipif(
    not SWAGGER_UI_DIST.is_dir(), reason=f"swagger-ui-dist is not installed: run `{docs_routes.INSTALL_HINT}` (make test does)"
)


@needs_swagger_ui
@pytest.mark.parametrize("path", ["/docs", "/docs/"])
def test_docs_is_swagger_ui_with_every_asset_it_references_served(path: str) -> None:
    page = docs_response("GET", path)
    assert page is not None and page.status == 200
    html = page.body.decode()
    assert html == (DOCS_UI / "index.html").read_text()
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references and all(reference.startswith("/docs/ui/") for reference in references), "no CDN, nothing external"
    for reference in references:
        asset = docs_response("GET", reference)
        assert asset is not None and asset.status == 200, reference
        assert len(asset.body) > 0
    bundle = docs_response("GET", "/docs/ui/swagger-ui-bundle.js")
    assert dict(bundle.headers)["content-type"].startswith("text/javascript")
    assert bundle.body == (SWAGGER_UI_DIST / "swagger-ui-bundle.js").read_bytes()


@needs_swagger_ui
def test_the_installed_swagger_ui_is_the_pinned_one() -> None:
    pinned = json.loads((DOCS_UI / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    locked = json.loads((DOCS_UI / "package-lock.json").read_text())["packages"]["node_modules/swagger-ui-dist"]["version"]
    installed = json.loads((SWAGGER_UI_DIST / "package.json").read_text())["version"]
    assert re.fullmatch(r"5\.\d+\.\d+", pinned), "an exact 5.x version"
    assert pinned == locked == installed


def test_the_ui_reads_the_served_openapi_document_and_calls_the_stack_that_served_it() -> None:
    script = (DOCS_UI / "pushgate-docs.js").read_text()
    assert 'fetch("/docs/openapi.json")' in script
    assert "url: window.location.origin" in script


@pytest.mark.parametrize(
    "path", ["/docs/ui/../../Makefile", "/docs/ui/index.html", "/docs/ui/", "/docs/ui/package.json", "/docs/other"]
)
def test_only_the_listed_assets_are_served(path: str) -> None:
    assert docs_response("GET", path) is None


def test_the_openapi_document_and_the_error_codes_are_still_served() -> None:
    document = docs_response("GET", "/docs/openapi.json")
    assert document.status == 200 and document.body == (DOCS / "openapi.json").read_bytes()
    errors = docs_response("GET", "/docs/errors")
    assert errors.status == 200 and b"not_found-404" in errors.body
    assert docs_response("POST", "/docs") is None


def test_without_the_npm_package_docs_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(docs_routes, "SWAGGER_UI_DIST", tmp_path / "absent")
    page = docs_response("GET", "/docs")
    assert page.status == 503 and b"make docs-ui" in page.body
    assert docs_response("GET", "/docs/openapi.json").status == 200
