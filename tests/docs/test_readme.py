"""Every command in README.md is run or checked (markers and kinds: readme_blocks.py).

The quick start really runs: its push service block in the background, its `make run` block turned
into the environment of a local stack started as `make run` starts it (`python -m pushgate_local`,
tests/e2e/local_stack.py), then its commands with bash, which must end with the push decrypted by
the push service. `make run` and `make test` themselves are not run here: the stack is the same
`python -m pushgate_local` that `make run` runs after its set-up (checked in the Makefile below),
and `make test` is the suite this test belongs to. Commands that need an AWS account are run with
the AWS-facing tools replaced by recorders, and every recorded command line is checked against
the tool's own definition: botocore's service models for `aws`, `sam <command> --help` for the SAM
CLI, the CLI's own parser for `pushgate`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest
import requests
import yaml
from botocore import xform_name

from pushgate_cli.parser import parse_args
from pushgate_local.config import free_port
from tests.docs.readme_blocks import KINDS, README, REPO, command_blocks, readme_blocks
from tests.e2e.local_stack import LocalStackProcess, stack_environment
from tests.e2e.push_service import _missing_push_service

MAX_README_LINES = 150  # about 120 lines of prose and tables, plus the quick start script
QUICKSTART_TIMEOUT_SECONDS = 180
SERVICE_START_SECONDS = 20
SAM = REPO / ".venv-sam" / "bin" / "sam"
# The aws CLI's options that every command takes (they are not in the service models).
AWS_GLOBAL_OPTIONS = frozenset({"--query", "--output", "--region", "--profile", "--endpoint-url", "--no-paginate"})


def _bash(script: str, env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=REPO, env=env, text=True,
                          capture_output=True, **kwargs)  # type: ignore[call-overload]


def _clean_environment() -> dict[str, str]:
    """The environment of a fresh terminal: nothing of the test session's AWS or pushgate settings."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "PUSHGATE_", "PUSH_"))}


def _makefile_targets() -> dict[str, str]:
    """target -> its recipe, from the Makefile's `target: prerequisites` lines."""
    targets: dict[str, str] = {}
    current = None
    for line in (REPO / "Makefile").read_text().splitlines():
        rule = re.match(r"^([A-Za-z][\w.-]*)\s*:(?!=)", line)
        if rule:
            current = rule.group(1)
            targets.setdefault(current, "")
        elif line.startswith("\t") and current:
            targets[current] += line.strip() + "\n"
        elif line.strip() and not line.startswith("#"):
            current = None
    return targets


# -- the blocks and their markers --------------------------------------------------------------


def test_every_command_block_is_marked_with_a_known_kind() -> None:
    unmarked = [b.where() for b in command_blocks() if b.kind not in KINDS]
    assert not unmarked, f"fenced blocks without a `<!-- readme-test: {'|'.join(sorted(KINDS))} -->` line before them: {unmarked}"


def test_the_marker_check_catches_an_unmarked_block() -> None:
    text = "intro\n\n```sh\nrm -rf /\n```\n\n<!-- readme-test: aws -->\n```sh\naws sts get-caller-identity\n```\n"
    kinds = [(b.kind, b.language) for b in readme_blocks(text)]
    assert kinds == [(None, "sh"), ("aws", "sh")]


def test_the_quick_start_has_one_block_of_each_part() -> None:
    for kind in ("service", "stack", "quickstart"):
        assert len(command_blocks(kind)) == 1, kind


def test_the_readme_stays_short() -> None:
    assert len(README.read_text().splitlines()) <= MAX_README_LINES


def test_make_blocks_name_targets_that_set_up_then_run() -> None:
    targets = _makefile_targets()
    for block in command_blocks("make"):
        for line in block.text.splitlines():
            command = line.split("#", 1)[0].split()
            if not command:
                continue
            assert command[0] == "make" and len(command) == 2, f"{block.where()}: not a make command: {line}"
            assert command[1] in targets, f"{block.where()}: no Makefile target {command[1]!r}"
    # What the stack fixture below stands in for: `make run` is set-up, then `python -m pushgate_local`.
    assert re.search(r"^\$\(VENV\)/bin/python -m pushgate_local$", targets["run"], re.M), targets["run"]


def test_every_make_target_the_readme_names_exists() -> None:
    named = set(re.findall(r"`make ([a-z][\w-]*)`", README.read_text()))
    missing = sorted(named - set(_makefile_targets()))
    assert not missing, f"README.md names `make {missing}`, which the Makefile does not define"


def test_every_benchmark_the_readme_names_runs_its_help() -> None:
    scripts = sorted(set(re.findall(r"`\.venv/bin/python (bench/[\w/]+\.py)`", README.read_text())))
    assert scripts, "the Measured figures table names no benchmark"
    for script in scripts:
        result = subprocess.run([sys.executable, script, "--help"], cwd=REPO, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, f"{script} --help: {result.stderr[-2000:]}"


# -- the quick start, for real ---------------------------------------------------------------------

# `npm ci` would delete and reinstall node_modules under the delivery tests that may be using it
# at the same moment (pytest -n 2), and it needs the npm registry; `make test` has run it already.
# So the quick start's `npm ci --prefix DIR` checks that DIR is installed instead.
NPM_STANDS_IN = r"""
npm() {
  [ "$1" = ci ] || { echo "the quick start runs only npm ci, not: npm $*" >&2; return 1; }
  local prefix=""; while [ $# -gt 0 ]; do [ "$1" = --prefix ] && prefix=$2; shift; done
  [ -d "$prefix/node_modules/web-push-testing" ] || { echo "$prefix: npm packages not installed" >&2; return 1; }
}
"""
# `make run` stands for the stack the test starts: it prints the PUSHGATE_* environment it got.
MAKE_RUN_STANDS_IN = r"""
make() {
  [ "$*" = run ] || { echo "the stack block runs only make run, not: make $*" >&2; return 1; }
  "$PYTHON" -c 'import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith("PUSHGATE_")}))'
}
"""


@pytest.fixture(scope="module")
def push_service_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The README's push service block, running in the background on a free port."""
    reason = _missing_push_service()
    if reason is not None:
        pytest.skip(reason)
    (block,) = command_blocks("service")
    port = free_port()
    log = tmp_path_factory.mktemp("readme-push-service") / "push-service.log"
    env = {**_clean_environment(), "PUSH_SERVICE_PORT": str(port)}
    with open(log, "wb") as output:
        # serve.js ends when its stdin closes; its own session, so that it can be stopped as a group.
        process = subprocess.Popen(["bash", "-e", "-c", NPM_STANDS_IN + block.text], cwd=REPO, env=env,
                                   stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait_for_push_service(process, port, log)
        yield port
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_push_service(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + SERVICE_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the README's push service block exited with {process.returncode}\n{log.read_text()}")
        try:
            if requests.post(f"http://127.0.0.1:{port}/status", timeout=2).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    pytest.fail(f"the README's push service did not answer on port {port}\n{log.read_text()}")


@pytest.fixture(scope="module")
def readme_stack(tmp_path_factory: pytest.TempPathFactory, push_service_port: int) -> Iterator[LocalStackProcess]:
    """A local stack with the environment the README's `make run` line gives it."""
    (block,) = command_blocks("stack")
    env = {**_clean_environment(), "PUSH_SERVICE_PORT": str(push_service_port), "PYTHON": sys.executable}
    result = _bash(MAKE_RUN_STANDS_IN + block.text, env, timeout=30)
    assert result.returncode == 0, f"{block.where()}: {result.stderr}"
    from_readme = json.loads(result.stdout.strip().splitlines()[-1])
    assert from_readme, f"{block.where()}: `make run` got no PUSHGATE_* setting"
    base = tmp_path_factory.mktemp("readme-stack")
    stack_env = {**stack_environment(base / "data"), **from_readme}
    stack = LocalStackProcess(data_dir=base / "data", log_dir=base, env=stack_env)
    stack.start()
    yield stack
    stack.stop()


@pytest.mark.e2e
def test_the_quick_start_ends_with_the_push_received(readme_stack: LocalStackProcess, push_service_port: int) -> None:
    (block,) = command_blocks("quickstart")
    env = {
        **_clean_environment(),
        "PUSHGATE_HTTP_PORT": readme_stack.env["PUSHGATE_HTTP_PORT"],
        "PUSH_SERVICE_PORT": str(push_service_port),
    }
    result = _bash(block.text, env, timeout=QUICKSTART_TIMEOUT_SECONDS)
    assert result.returncode == 0, f"{block.where()} failed:\n{result.stdout}\n{result.stderr}\n{readme_stack.logs()}"
    outputs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert outputs[0] == {"data": {"push_subscription_id": 1, "operation_status": "SUCCESS"}}, result.stdout
    push = outputs[-2]["push"]
    assert push["status"] == "done" and push["counts"]["sent"] == 1, push
    sent = json.loads(re.search(r"-d '(\{\"to\".*?\})'", block.text).group(1))  # the README's POST /push body
    (message,) = (json.loads(m) for m in outputs[-1]["data"]["messages"])
    # What the service worker gets: the push the README sent, decrypted by the push service.
    assert message == {"id": push["id"], "notification": sent["notification"]}


# -- what needs an AWS account ------------------------------------------------------------------

RECORDED_TOOLS = ("aws", "sam", ".venv-sam/bin/sam", "pushgate", ".venv/bin/pushgate")
RECORDER = "\n".join(
    f"{tool}() {{ {{ printf 'CALL\\0{tool}\\0'; printf '%s\\0' \"$@\"; }} >> \"$CALLS\"; echo stub-output; }}"
    for tool in RECORDED_TOOLS
)


def _recorded_calls(tmp_path: Path) -> list[tuple[str, list[str], str]]:
    calls: list[tuple[str, list[str], str]] = []
    for block in command_blocks("aws"):
        record = tmp_path / f"calls-{block.line}"
        record.touch()
        result = _bash(RECORDER + "\n" + block.text, {**_clean_environment(), "CALLS": str(record)}, timeout=30)
        assert result.returncode == 0, f"{block.where()}: {result.stderr}"
        fields = record.read_bytes().decode().split("\0")
        starts = [at for at, value in enumerate(fields) if value == "CALL"]
        assert starts, f"{block.where()}: no command of {RECORDED_TOOLS} ran"
        for start, end in zip(starts, [*starts[1:], len(fields) - 1], strict=True):
            calls.append((fields[start + 1].rsplit("/", 1)[-1], fields[start + 2 : end], block.where()))
    return calls


def _check_aws(arguments: list[str], where: str) -> None:
    service, command, *options = arguments
    model = botocore.session.get_session().get_service_model(service)
    operations = {xform_name(name, "-"): name for name in model.operation_names}
    assert command in operations, f"{where}: aws {service} has no command {command}"
    members = {"--" + xform_name(name, "-") for name in model.operation_model(operations[command]).input_shape.members}
    for option in (o for o in options if o.startswith("--")):
        assert option in members | AWS_GLOBAL_OPTIONS, f"{where}: aws {service} {command} has no option {option}"


def _check_sam(arguments: list[str], where: str) -> None:
    if not SAM.exists():
        pytest.skip(f"the SAM CLI is not installed in .venv-sam (make test installs it); {where} is unchecked")
    command, *options = arguments
    help_text = subprocess.run([str(SAM), command, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    assert help_text.returncode == 0, f"{where}: sam {command} --help: {help_text.stderr}"
    for option in (o for o in options if o.startswith("--")):
        assert re.search(rf"(^|\s){re.escape(option)}\b", help_text.stdout), f"{where}: sam {command} has no {option}"


def _check_pushgate(arguments: list[str], where: str) -> None:
    parsed = parse_args(arguments)  # raises UsageError on anything the CLI would refuse
    assert parsed.stack, f"{where}: a deployed-stack command without --stack"


def test_aws_blocks_are_command_lines_the_tools_accept(tmp_path: Path) -> None:
    checks = {"aws": _check_aws, "sam": _check_sam, "pushgate": _check_pushgate}
    calls = _recorded_calls(tmp_path)
    for tool, arguments, where in calls:
        checks[tool](arguments, where)
    assert {tool for tool, _, _ in calls} == set(checks)


class _Tagged(yaml.SafeLoader):
    """template.yaml's !Ref / !GetAtt / !Sub tags, read as their plain values."""


def _tagged_value(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_Tagged.add_multi_constructor("!", _tagged_value)


def _template() -> dict:
    return yaml.load((REPO / "template.yaml").read_text(), Loader=_Tagged)


def test_the_readme_operating_claims_hold_in_the_template() -> None:
    resources = _template()["Resources"]
    alarms = {name: json.dumps(r["Properties"]) for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    dead_letter_queues = [name for name, r in resources.items()
                          if r["Type"] == "AWS::SQS::Queue" and name.endswith("DeadLetterQueue")]
    assert dead_letter_queues
    for queue in dead_letter_queues:
        # "an alarm fires when anything reaches a dead-letter queue"; "dead letters are kept 14 days"
        assert any(f"{queue}." in alarm for alarm in alarms.values()), f"no alarm watches {queue}"
        assert resources[queue]["Properties"]["MessageRetentionPeriod"] == 14 * 86400, queue
    named_alarms = set(re.findall(r"`(\w+Alarm)`", README.read_text()))
    assert named_alarms and named_alarms <= set(alarms), sorted(named_alarms - set(alarms))


def test_the_stack_outputs_the_readme_reads_exist(tmp_path: Path) -> None:
    outputs = set(_template()["Outputs"])
    queried = [
        (re.search(r"OutputKey=='([^']+)'", " ".join(arguments)), where)
        for tool, arguments, where in _recorded_calls(tmp_path)
        if tool == "aws" and arguments[:2] == ["cloudformation", "describe-stacks"]
    ]
    assert queried
    for match, where in queried:
        assert match and match.group(1) in outputs, f"{where}: the stack has no output {match and match.group(1)}"
    named = set(re.findall(r"`(\w+(?:Arn|Url|Name|Prefix))`", README.read_text()))
    assert named <= outputs, sorted(named - outputs)
