"""README.md's fenced blocks, each with the kind of check its marker asks for.

A block is marked by an HTML comment on the line before its opening fence, invisible on GitHub:

    <!-- readme-test: KIND -->
    ```sh

Kinds (test_readme.py says what each test does with them):
- `make`: `make run` / `make test`; their targets are checked, not run (see test_readme.py).
- `service`: started in the background for the quick start (the push service).
- `stack`: how the quick start starts pushgate; its environment is applied to the test's stack.
- `quickstart`: run with bash against that stack and that push service; it must end with a push received.
- `aws`: needs an AWS account; run with every AWS-facing tool replaced by a recorder, and each
  recorded command line checked against the tool's own definition of its commands.

Blocks whose language is `text` (diagrams, sample output) are prose, not commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
KINDS = frozenset({"make", "service", "stack", "quickstart", "aws"})
PROSE_LANGUAGES = frozenset({"text"})

_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^<!--\s*readme-test:\s*(\S+)\s*-->$")


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    language: str
    kind: str | None  # None: unmarked
    text: str

    def where(self) -> str:
        return f"README.md:{self.line}"


def readme_blocks(text: str | None = None) -> list[Block]:
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        closing = next((end for end in range(index + 1, len(lines)) if lines[end].strip() == "```"), None)
        if closing is None:
            raise AssertionError(f"README.md:{index + 1}: a fenced block that never closes")
        previous = next((lines[at].strip() for at in range(index - 1, -1, -1) if lines[at].strip()), "")
        marker = _MARKER.match(previous)
        blocks.append(
            Block(
                line=index + 1,
                language=opening.group(1),
                kind=marker.group(1) if marker else None,
                text="\n".join(lines[index + 1 : closing]) + "\n",
            )
        )
        index = closing + 1
    return blocks


def command_blocks(kind: str | None = None) -> list[Block]:
    """Every block that is not prose; of one kind if given."""
    return [b for b in readme_blocks() if b.language not in PROSE_LANGUAGES and (kind is None or b.kind == kind)]
