"""`python -m pushgate_docs`: write docs/openapi.json and docs/errors.md from the code.

  --check       write nothing; exit 1 when a committed file differs from what the code gives
  --html PATH   also write the static HTML view to PATH (not committed)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pushgate_docs.errors_md import ERRORS_MD_PATH, render_errors_markdown
from pushgate_docs.html import render_html
from pushgate_docs.openapi import OPENAPI_PATH, UndocumentedRoutesError, build_openapi, dumps


def generated() -> dict[Path, str]:
    return {OPENAPI_PATH: dumps(build_openapi()), ERRORS_MD_PATH: render_errors_markdown()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pushgate_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file is stale; write nothing")
    parser.add_argument("--html", type=Path, metavar="PATH", help="also write the HTML view to PATH")
    args = parser.parse_args(argv)
    try:
        files = generated()
    except UndocumentedRoutesError as error:
        print(f"pushgate_docs: {error}", file=sys.stderr)
        return 2
    stale = [path for path, text in files.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"stale: {path} (run `python -m pushgate_docs`)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"{'wrote' if path in stale else 'unchanged'}: {path}")
    if args.html:
        import json

        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render_html(json.loads(files[OPENAPI_PATH])), encoding="utf-8")
        print(f"wrote: {args.html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
