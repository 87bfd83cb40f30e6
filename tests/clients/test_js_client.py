"""The JS browser client (clients/js): its node unit tests pass, its package.json names files that
exist, and its type declarations (pushgate.d.ts) declare exactly what pushgate.js exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "js"
NODE_TEST_TIMEOUT_SECONDS = 300

EXPORTED_NAME = re.compile(
    r"^export\s+(?:declare\s+)?(?:default\s+)?(?:async\s+)?"
    r"(?:class|function\*?|const|let|var|interface|type)\s+([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
TYPE_ONLY = re.compile(r"^export\s+(?:declare\s+)?(?:interface|type)\s+([A-Za-z_$][\w$]*)", re.MULTILINE)


def test_the_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the JS client's unit tests (node --test) cannot run")
    result = subprocess.run(
        [node, "--test", "clients/js/test/"],
        cwd=REPO, capture_output=True, text=True, timeout=NODE_TEST_TIMEOUT_SECONDS, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # node reports the number of tests it ran: none would be a broken setup, not a pass
    ran = re.search(r"^# tests (\d+)$", output, re.MULTILINE)
    assert ran is not None and int(ran.group(1)) > 0, output


def _export_targets(exports: object) -> list[str]:
    if isinstance(exports, str):
        return [exports]
    assert isinstance(exports, dict), exports
    return [target for value in exports.values() for target in _export_targets(value)]


def test_package_json_names_only_files_that_exist() -> None:
    package = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))
    assert package["name"] == "@pushgate/client"
    assert package["type"] == "module"
    assert package["license"] == "MIT"
    assert re.fullmatch(r"\d+\.\d+\.\d+", package["version"])
    assert package["scripts"]["test"] == "node --test test/"
    assert not package.get("dependencies") and not package.get("devDependencies")
    assert package["exports"]["."] == {"types": "./pushgate.d.ts", "default": "./pushgate.js"}
    assert package["exports"]["./sw.js"] == "./sw.js"
    named = _export_targets(package["exports"]) + package["files"] + [package["main"], package["types"]]
    missing = [name for name in named if not (CLIENT / name).is_file()]
    assert missing == [], f"package.json names files that do not exist: {missing}"
    # what the package exports is also what it ships
    shipped = {name.removeprefix("./") for name in package["files"]}
    assert {name.removeprefix("./") for name in _export_targets(package["exports"])} <= shipped


def test_the_type_declarations_declare_exactly_the_module_exports() -> None:
    module = (CLIENT / "pushgate.js").read_text(encoding="utf-8")
    declarations = (CLIENT / "pushgate.d.ts").read_text(encoding="utf-8")
    module_exports = set(EXPORTED_NAME.findall(module))
    value_declarations = set(EXPORTED_NAME.findall(declarations)) - set(TYPE_ONLY.findall(declarations))
    assert module_exports == {"Pushgate", "PushgateError"}
    assert value_declarations == module_exports
    # no `export { … }` list or re-export that the patterns above would miss
    assert not re.search(r"^export\s*(\{|\*)", module, re.MULTILINE)
    assert not re.search(r"^export\s*(\{|\*)", declarations, re.MULTILINE)


def test_the_service_worker_is_self_contained() -> None:
    """The local stack serves sw.js alone under /demo/, and pages copy it as is: no imports."""
    worker = (CLIENT / "sw.js").read_text(encoding="utf-8")
    assert not re.search(r"^\s*import\b|\bimportScripts\s*\(", worker, re.MULTILINE)
