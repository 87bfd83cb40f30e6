"""/docs in a real browser: Swagger UI (vendored from npm, no CDN) renders every operation of the
served OpenAPI document with no console error, and try-it-out calls the local stack that served the
page: GET /topics with the demo app's secret key, the 200 shown in the UI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pushgate_local.docs_routes import INSTALL_HINT, SWAGGER_UI_DIST
from tests.browser.cdp import Chromium
from tests.e2e.local_stack import LocalStackProcess

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not SWAGGER_UI_DIST.is_dir(), reason=f"swagger-ui-dist is not installed: run `{INSTALL_HINT}` (make test does)"),
]

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def test_docs_render_every_operation_and_try_it_out_reaches_the_stack(
    chromium: Chromium, browser_stack: LocalStackProcess, screenshots: Path
) -> None:
    document = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
    operations = sum(1 for path in document["paths"].values() for method in path if method in HTTP_METHODS)
    page = chromium.new_page()
    try:
        page.send("Network.enable")
        # Given the docs page of the running stack
        page.navigate(f"{browser_stack.http_url}/docs")
        # Then Swagger UI shows every operation
        rendered = page.wait_for(f"document.querySelectorAll('.opblock').length >= {operations} && "
                                 "document.querySelectorAll('.opblock').length")
        assert rendered == operations
        page.screenshot(screenshots / "01-docs.png")

        # When GET /topics is tried out with the demo app's secret key (Swagger UI's own authorize API)
        secret_key = browser_stack.demo()["secret_key"]
        page.evaluate(f"void window.ui.preauthorizeApiKey('SecretApiKey', {json.dumps(secret_key)})")
        page.evaluate("""(() => {
            const summary = [...document.querySelectorAll('.opblock-get .opblock-summary-path')]
                .find(element => element.getAttribute('data-path') === '/topics');
            summary.closest('.opblock-summary').querySelector('button.opblock-summary-control').click();
        })()""")
        page.wait_for("!!document.querySelector('#operations-Topics_and_sending_API-ListTopicsFunctionGet .try-out__btn')")
        page.evaluate("document.querySelector('#operations-Topics_and_sending_API-ListTopicsFunctionGet .try-out__btn').click()")
        page.wait_for("!!document.querySelector('#operations-Topics_and_sending_API-ListTopicsFunctionGet .execute')")
        page.evaluate("document.querySelector('#operations-Topics_and_sending_API-ListTopicsFunctionGet .execute').click()")

        # Then the UI shows the stack's 200 and its body
        status = page.wait_for(
            "(document.querySelector('#operations-Topics_and_sending_API-ListTopicsFunctionGet .live-responses-table "
            ".response .response-col_status') || {}).textContent"
        )
        page.evaluate("document.querySelector('#operations-Topics_and_sending_API-ListTopicsFunctionGet .live-responses-table')"
                      ".scrollIntoView()")
        page.screenshot(screenshots / "02-try-it-out.png")
        assert status.strip().startswith("200"), status
        shown = page.evaluate(
            "document.querySelector('#operations-Topics_and_sending_API-ListTopicsFunctionGet .live-responses-table "
            ".response-col_description pre').textContent"
        )
        assert "topics" in json.loads(shown)
        # And the request went to this stack (not the document's default port 3000)
        sent = [event["request"]["url"] for event in chromium.cdp.events("Network.requestWillBeSent", page.session_id)]
        assert any(url.startswith(f"{browser_stack.http_url}/topics?") for url in sent), sent
        assert page.console_errors() == []
    finally:
        chromium.cdp.send("Target.closeTarget", {"targetId": page.target_id})
