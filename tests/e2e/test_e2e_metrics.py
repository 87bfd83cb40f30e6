"""Per-app metrics on the stack `make run` starts (docs/operating.md, Metrics): a phone registered
through the device API and a push delivered to it through the fake APNs leave, in the functions'
logs, the embedded-metric lines CloudWatch would turn into SubscriptionsCreated, PushesCreated and
DeliveriesSent, each with its `app` dimension. `MetricsApps` is empty on the local stack, so every
app is counted as `app=other`: no app id ever becomes a dimension value."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.local_stack import LocalStackProcess

pytestmark = pytest.mark.e2e

DELIVERY_TIMEOUT_SECONDS = 60
FLUSH_TIMEOUT_SECONDS = 10  # the last invocation's log lines reach the stack's log file


def emf_documents(stack: LocalStackProcess) -> list[dict[str, Any]]:
    documents = []
    for line in stack.stderr_path.read_text().splitlines():
        start = line.find('{"_aws"')
        if start != -1:
            documents.append(json.loads(line[start:]))
    return documents


def counted(documents: list[dict[str, Any]], metric: str, **dimensions: str) -> float:
    total = 0.0
    for document in documents:
        if metric in document and all(document.get(name) == value for name, value in dimensions.items()):
            values = document[metric]
            total += sum(values) if isinstance(values, list) else values
    return total


def test_a_subscription_a_push_and_its_delivery_are_counted_per_app_bucket(local_stack: LocalStackProcess) -> None:
    demo = local_stack.demo()
    before = emf_documents(local_stack)
    user = f"metrics-{uuid.uuid4().hex[:8]}"
    session = local_stack.create_session(user)
    response = requests.post(
        f"{local_stack.http_url}/me/subscribe",
        headers={"IM-CLIENT-KEY": demo["public_key"], "IM-Authorization": session},
        json={"type": "ios", "deviceId": "iphone", "token": secrets.token_hex(32)},
        timeout=30,
    )
    assert response.json()["RC"] == 0, response.text
    push = requests.post(f"{local_stack.http_url}/push", params={"api_key": demo["secret_key"]}, json={"to": f"/users/{user}", "data": {"k": 1}}, timeout=30).json()
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while True:
        status = requests.get(f"{local_stack.http_url}/pushes/{push['id']}", params={"api_key": demo["secret_key"]}, timeout=30).json()["push"]
        if status["status"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["counts"]["sent"] == 1, status

    wanted = {("SubscriptionsCreated", ()), ("PushesCreated", ()), ("DeliveriesSent", (("provider", "apns"),))}
    deadline = time.monotonic() + FLUSH_TIMEOUT_SECONDS
    while True:
        documents = emf_documents(local_stack)
        found = {
            (metric, extra)
            for metric, extra in wanted
            if counted(documents, metric, app="other", service="pushgate", **dict(extra)) > counted(before, metric, app="other", service="pushgate", **dict(extra))
        }
        if found == wanted or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found == wanted
    # Bounded: with MetricsApps empty, no line names an app by its id.
    assert {document["app"] for document in documents if "app" in document} == {"other"}
    assert demo["app_id"] not in json.dumps([document for document in documents if "app" in document])
