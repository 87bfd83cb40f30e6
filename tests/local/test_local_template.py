"""Reading template.yaml: the fast loader agrees with cfn-lint's decoder, and intrinsics resolve to
the local stack's resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from pushgate_local.config import LocalConfig
from pushgate_local.intrinsics import NO_VALUE, StackContext, UnsupportedIntrinsic, stack_parameters
from pushgate_local.lambda_runtime import deployment_from_template
from pushgate_local.template import (
    REPO_ROOT,
    TEMPLATE_PATH,
    functions,
    http_api_cors,
    load_template,
)

ENDPOINT = "http://127.0.0.1:4510"


def test_the_template_reads_as_cfn_lint_reads_it() -> None:
    from cfnlint.decode import decode  # slow to import: only here

    expected, matches = decode(str(TEMPLATE_PATH))
    assert not matches
    assert load_template() == expected


def test_short_form_intrinsics_become_long_form(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  A:\n    Type: X\n    Properties:\n"
        "      Ref: !Ref B\n      Att: !GetAtt B.Arn\n      Sub: !Sub '${B}-x'\n"
        "      SubList: !Sub ['${v}', {v: !Ref B}]\n      Join: !Join [',', [a, b]]\n      If: !If [C, 1, 2]\n"
    )
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props == {
        "Ref": {"Ref": "B"},
        "Att": {"Fn::GetAtt": ["B", "Arn"]},
        "Sub": {"Fn::Sub": "${B}-x"},
        "SubList": {"Fn::Sub": ["${v}", {"v": {"Ref": "B"}}]},
        "Join": {"Fn::Join": [",", ["a", "b"]]},
        "If": {"Fn::If": ["C", 1, 2]},
    }


@pytest.fixture
def context() -> StackContext:
    template = load_template()
    overrides = LocalConfig(extra_push_hosts="127.0.0.1:8080", development_mode="true").parameter_overrides()
    return StackContext(template, stack_parameters(template, overrides), ENDPOINT)


def test_function_environment_resolves_to_local_resources(context: StackContext) -> None:
    spec = functions(context.template)["AccountPushSubscribeFunction"]
    assert context.environment(spec.environment) == {
        "TABLE_NAME": "pushgate-local-Table",
        "PUSHGATE_STAGE": "local",
        "PUSHGATE_SSM_PREFIX": "/pushgate/local",
        "PUSHGATE_EXTRA_PUSH_HOSTS": "127.0.0.1:8080",
        "PUSHGATE_DEVELOPMENT_MODE": "true",
        "PUSHGATE_MAX_DEVICES_PER_USER": "20",
        "PUSHGATE_SEND_RATE_PER_SECOND": "100",
        "PUSHGATE_SUBSCRIBE_RATE_PER_SECOND": "50",
        "PUSHGATE_METRICS_APPS": "",
        "PUSHGATE_EVENT_BUS_NAME": "pushgate-local-PushgateEvents",
        "POWERTOOLS_SERVICE_NAME": "pushgate",
        "POWERTOOLS_METRICS_NAMESPACE": "pushgate",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def test_a_deployment_runs_the_source_tree_against_the_endpoint(context: StackContext) -> None:
    deployment = deployment_from_template(functions(context.template)["CreateSessionFunction"], context)
    assert deployment.name == "pushgate-local-CreateSessionFunction"
    assert deployment.code_dir == REPO_ROOT / "functions" / "create_session"
    assert deployment.handler == "app.lambda_handler"
    assert (deployment.timeout, deployment.memory) == (10, 512)
    # The shared layer from source; the deps layer has no source dir (the venv provides it).
    assert deployment.python_paths == (REPO_ROOT / "layers" / "shared" / "python",)
    assert deployment.environment["AWS_ENDPOINT_URL"] == ENDPOINT
    assert deployment.environment["TABLE_NAME"] == "pushgate-local-Table"


def test_intrinsics(context: StackContext) -> None:
    log_group = context.resolve({"Fn::Sub": "/aws/lambda/${CreateSessionFunction}"})
    assert log_group == "/aws/lambda/pushgate-local-CreateSessionFunction"
    table_arn = context.resolve({"Fn::GetAtt": ["Table", "Arn"]})
    assert table_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/pushgate-local-Table"
    assert context.resolve({"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}) == (
        "https://local.execute-api.us-east-1.amazonaws.com"
    )
    assert context.resolve({"Fn::Sub": ["${a}-${!Literal}", {"a": {"Ref": "Stage"}}]}) == "local-${Literal}"
    assert context.resolve({"Fn::Join": ["/", ["a", {"Ref": "Stage"}]]}) == "a/local"
    assert context.resolve({"keep": 1, "drop": {"Ref": "AWS::NoValue"}}) == {"keep": 1}
    assert context.ref("AWS::NoValue") is NO_VALUE
    with pytest.raises(UnsupportedIntrinsic):
        context.resolve({"Fn::If": ["Cond", 1, 2]})
    with pytest.raises(UnsupportedIntrinsic):
        context.resolve({"Ref": "NoSuchThing"})


@pytest.mark.parametrize(
    ("overrides", "message"), [({"DevelopmentMode": "maybe"}, "DevelopmentMode"), ({"Stage": "Bad Stage"}, "Stage")]
)
def test_local_parameters_are_checked_like_cloudformation_checks_them(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stack_parameters(load_template(), overrides)


def test_the_templates_http_api_cors() -> None:
    cors = http_api_cors()
    assert cors is not None and cors["AllowOrigins"] == ["*"] and cors["MaxAge"] == 600
