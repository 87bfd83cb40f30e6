"""Proves the `sam build` output runs on the Lambda runtime's Python: every function's handler is
imported from .aws-sam/build with only what Lambda puts on sys.path (the function's code, the
layers under /opt/python, and the runtime's own boto3), in a bare interpreter with no site-packages.
Only the Web Push sender may load pywebpush, and only the FCM and APNs senders h2, while importing.

Run after `sam build` (make check-build does both)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cfnlint.decode import decode

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / ".aws-sam" / "build"
RUNTIME_PACKAGES = ["boto3"]  # what the python3.13 Lambda runtime provides itself
# Heavy imports each only in the function that sends with it: pywebpush costs about 0.45 s
# (aiohttp), h2 is for the native senders' HTTP/2; httpx is in no function (the benchmarks only).
WEBPUSH_MODULES = ("pywebpush", "aiohttp")
NATIVE_MODULES = ("h2",)
ALLOWED_HEAVY_MODULES = {
    "WebPushSenderFunction": WEBPUSH_MODULES,
    "FcmSenderFunction": NATIVE_MODULES,
    "ApnsSenderFunction": NATIVE_MODULES,
}
HEAVY_MODULES = WEBPUSH_MODULES + NATIVE_MODULES + ("httpx",)


def lock_pin(package: str) -> str:
    for line in (REPO / "requirements" / "dev.lock").read_text().splitlines():
        if line.lower().startswith(f"{package}=="):
            return line.strip()
    return package


def runtime_site(target: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(target), *map(lock_pin, RUNTIME_PACKAGES)],
        check=True,
    )


def opt_python(layer_dirs: list[Path], target: Path) -> None:
    """Lambda extracts layers into /opt in order, later ones overwriting earlier ones."""
    for layer in layer_dirs:
        shutil.copytree(layer / "python", target, dirs_exist_ok=True)


def declared_value(template: dict, name: str, value: object) -> str:
    """A parameter's default for a Ref to it; a placeholder for what only a deployment resolves."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Ref"), str) and value["Ref"] in template.get("Parameters", {}):
        return str(template["Parameters"][value["Ref"]].get("Default", ""))
    return f"placeholder-{name.lower()}"


def main() -> int:
    template, matches = decode(str(BUILD / "template.yaml"))
    if matches or template is None:
        print(f"cannot read the built template: {matches}")
        return 1
    resources = template["Resources"]
    layer_of = {name: BUILD / name for name, r in resources.items() if r["Type"] == "AWS::Serverless::LayerVersion"}
    globals_ = template.get("Globals", {}).get("Function", {})
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        runtime, opt = Path(scratch) / "runtime", Path(scratch) / "opt-python"
        runtime_site(runtime)
        opt_python(list(layer_of.values()), opt)
        if any((opt / package).exists() for package in ("boto3", "botocore")):
            print("a layer bundles boto3/botocore, which would shadow the runtime's")
            failures += 1
        interpreter = getattr(sys, "_base_executable", sys.executable)
        for name, resource in resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            props = {**globals_, **resource["Properties"]}
            module, handler = props["Handler"].rsplit(".", 1)
            task = BUILD / name
            probe = (
                "import sys, importlib; "
                f"sys.path[:0] = [{str(task)!r}, {str(opt)!r}, {str(runtime)!r}]; "
                f"m = importlib.import_module({module!r}); "
                f"assert callable(getattr(m, {handler!r})); "
                "leaked = [p for p in (getattr(v, '__file__', '') or '' for v in list(sys.modules.values())) if p.startswith("
                f"{str(REPO)!r}) and not p.startswith({str(BUILD)!r})]; "
                "assert not leaked, leaked; "
                f"loaded = [m for m in {tuple(m for m in HEAVY_MODULES if m not in ALLOWED_HEAVY_MODULES.get(name, ()))!r} if m in sys.modules]; "
                "assert not loaded, f'a function that does not send with them loads {loaded} at cold start'; "
                "print(sys.version.split()[0])"
            )
            # The function's environment as the template declares it; values Lambda would resolve
            # at deploy time (Ref, GetAtt, Sub) become placeholders: importing must not call AWS.
            declared = {**globals_.get("Environment", {}).get("Variables", {}), **resource["Properties"].get("Environment", {}).get("Variables", {})}
            env = {
                **{name: declared_value(template, name, value) for name, value in declared.items()},
                "PATH": os.environ.get("PATH", ""),
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "check",
                "AWS_SECRET_ACCESS_KEY": "check",
                "TABLE_NAME": "pushgate-check",
                "LAMBDA_TASK_ROOT": str(task),
            }
            result = subprocess.run([interpreter, "-I", "-S", "-c", probe], capture_output=True, text=True, env=env, cwd=scratch)
            if result.returncode == 0:
                print(f"ok   {name}: {props['Handler']} imports on Python {result.stdout.strip()}")
            else:
                failures += 1
                print(f"FAIL {name}: {props['Handler']}\n{result.stderr.strip()}")
    print(f"built artifact: {failures} failed" if failures else "built artifact: every handler imports")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
