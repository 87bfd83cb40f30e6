"""`pushgate app limits` (docs/limits.md): an app's own request rates on its app record, read back by
the same wiring the handlers use, and the limiter applying them."""

from __future__ import annotations

from typing import Any

import pytest

from pushgate.models import RateLimits


def test_an_app_starts_with_the_deployments_rates(cli, created_app) -> None:  # noqa: ANN001
    result = cli("app", "limits", "--app", created_app["app_id"], "--json")
    assert result.code == 0, result.stderr
    assert result.json == {"app_id": created_app["app_id"], "send": None, "subscribe": None}


def test_setting_one_group_keeps_the_others_own_rate(cli, stack, created_app) -> None:  # noqa: ANN001
    app_id = created_app["app_id"]
    assert cli("app", "limits", "--app", app_id, "--send", "500", "--subscribe", "20").code == 0
    result = cli("app", "limits", "--app", app_id, "--subscribe", "2.5", "--json")
    assert result.code == 0, result.stderr
    assert result.json["send"] == {"per_second": 500, "burst": 1000}
    assert result.json["subscribe"] == {"per_second": 2.5, "burst": 5}
    assert stack.services.repository.get_app(app_id).rate_limits == RateLimits(send=500, subscribe=2.5)


def test_reset_goes_back_to_the_deployments_rates(cli, stack, created_app) -> None:  # noqa: ANN001
    app_id = created_app["app_id"]
    cli("app", "limits", "--app", app_id, "--send", "5")
    result = cli("app", "limits", "--app", app_id, "--reset", "--json")
    assert (result.code, result.json["send"], result.json["subscribe"]) == (0, None, None)
    assert stack.services.repository.get_app(app_id).rate_limits == RateLimits()


def test_the_limiter_uses_the_apps_own_rate(cli, stack, created_app) -> None:  # noqa: ANN001
    from pushgate.services.limits import SEND, SUBSCRIBE

    app_id = created_app["app_id"]
    cli("app", "limits", "--app", app_id, "--send", "7")
    app = stack.services.repository.get_app(app_id)
    assert stack.services.limiter.rate_for(app, SEND).burst == 14
    assert stack.services.limiter.rate_for(app, SUBSCRIBE) is None  # no own rate, and the CLI names no deployment rate


def test_the_text_form_says_what_applies(cli, created_app) -> None:  # noqa: ANN001
    result = cli("app", "limits", "--app", created_app["app_id"], "--send", "3")
    assert result.code == 0, result.stderr
    assert "3/s, bursts of 6" in result.stdout and "the deployment's" in result.stdout and "within 30 s" in result.stdout


def test_an_unknown_app_is_an_error(cli) -> None:  # noqa: ANN001
    result = cli("app", "limits", "--app", "app_nope", "--send", "3", "--json")
    assert result.code == 1 and "no app" in result.json["error"]


@pytest.mark.parametrize("value", ["0", "-1", "1001", "fast", "nan"])
def test_a_rate_is_more_than_zero_and_at_most_1000(run_cli, value: str) -> None:  # noqa: ANN001
    result = run_cli("app", "limits", "--app", "app_x", "--send", value, "--json")
    assert result.code == 2 and "error" in result.json


def test_it_works_against_the_local_stack_too(run_cli, local_stack_url: str) -> None:  # noqa: ANN001
    created: Any = run_cli("app", "create", "--name", "limited", "--json", "--local-url", local_stack_url)
    assert created.code == 0, created.stderr
    result = run_cli("app", "limits", "--app", created.json["app_id"], "--subscribe", "4", "--json", "--local-url", local_stack_url)
    assert result.code == 0, result.stderr
    assert result.json["subscribe"] == {"per_second": 4, "burst": 8}
