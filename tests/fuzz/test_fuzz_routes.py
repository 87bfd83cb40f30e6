"""Schema-driven fuzzing of every HTTP route of docs/openapi.json against the local stack.

For each documented operation, schemathesis generates requests from the document, both valid ones
(positive) and ones that break it (negative: wrong types, missing fields, out-of-range values), and
each case gets the demo app's valid credentials or a hostile variant (tests/fuzz/credentials.py).
Every response must be: no 5xx; no stack trace, exception or SDK text in the body; a status, content
type, headers and JSON body that the document gives for the operation; the request id headers
(tests/fuzz/checks.py).

Budget: FUZZ_EXAMPLES cases per operation, derandomized (the same cases on every run) for
`make test`; `make fuzz` sets PUSHGATE_FUZZ_EXAMPLES (10,000 by default) and draws a random seed,
printed, that PUSHGATE_FUZZ_SEED replays. Hypothesis's example database is off: a run depends only
on its budget and seed."""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.local_stack import REPO, LocalStackProcess
from tests.fuzz.checks import problems
from tests.fuzz.credentials import SurfaceCredentials, surface_of, variants

pytestmark = pytest.mark.e2e

FUZZ_EXAMPLES = int(os.environ.get("PUSHGATE_FUZZ_EXAMPLES", "100"))
RANDOM_SEED = os.environ.get("PUSHGATE_FUZZ_SEED") or ("random" if "PUSHGATE_FUZZ_EXAMPLES" in os.environ else None)
REQUEST_TIMEOUT_SECONDS = 60
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

SCHEMA = schemathesis.openapi.from_path(str(REPO / "docs" / "openapi.json"))
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


def _seed() -> int | None:
    """None: derandomized (make test). Otherwise the seed of this run, printed so it can be replayed."""
    if RANDOM_SEED is None:
        return None
    seed = random.SystemRandom().randrange(2**32) if RANDOM_SEED == "random" else int(RANDOM_SEED)
    print(f"\nfuzz seed {seed} (PUSHGATE_FUZZ_SEED={seed} replays this run)")
    return seed


SEED = _seed()


def sent(response: requests.Response) -> str:
    """The request as sent, for a failure's message: its credentials left out (the query string
    holds api_key or session_id, the IM-* and x-notiflows-* headers the others)."""
    request = response.request
    headers = {name: value for name, value in request.headers.items() if not name.lower().startswith(("im-", "x-notiflows-"))}
    body = request.body.decode(errors="replace") if isinstance(request.body, bytes) else request.body
    return f"{request.method} {request.path_url.split('?')[0]}\nheaders {headers}\nbody {body!r:.2000}"


def cases(operation: Any) -> st.SearchStrategy[Any]:
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return st.one_of([operation.as_strategy(generation_mode=mode) for mode in modes])


@pytest.fixture(scope="module")
def http() -> requests.Session:
    with requests.Session() as session:
        yield session


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_response_is_documented_and_safe(
    label: str, local_stack: LocalStackProcess, fuzz_credentials: SurfaceCredentials, http: requests.Session
) -> None:
    operation = OPERATIONS[label]
    surface = surface_of(operation.path)
    choices = variants(surface, fuzz_credentials)
    tried: Counter[str] = Counter()

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
        print_blob=True,
    )
    @hypothesis.given(case=cases(operation), choice=st.integers(0, len(choices) - 1))
    def fuzz(case: Any, choice: int) -> None:
        credential, apply = choices[choice]
        apply(case)
        response = case.call(base_url=local_stack.http_url, session=http, timeout=REQUEST_TIMEOUT_SECONDS)
        tried[f"{response.status_code}"] += 1
        found = problems(surface, response)
        assert not found, f"{label} with {credential} credentials: {found}\n{sent(response)}\n{response.status_code} {response.content[:2000]!r}"
        case.validate_response(response, checks=CHECKS)

    if SEED is not None:
        fuzz = hypothesis.seed(SEED)(fuzz)
    fuzz()
    print(f"\n{label}: {sum(tried.values())} cases, statuses {dict(sorted(tried.items()))}")
    assert tried, "no case was generated"
