"""No file of the repository points outside it: no path to a sibling directory or to the machine it
was written on, and every relative link of every markdown file lands on a file of the repository
(and, for a `file.md#anchor` or `#anchor` link, on a heading or an explicit anchor in it).

"The repository" is what `git ls-files --cached --others --exclude-standard` lists: the tracked
files plus the new ones not ignored, i.e. what the next commit can hold, so a link to a document
written today but not yet committed counts, and one to an ignored or missing file does not."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not contain what it looks for.
FORBIDDEN = ("../" + "shared", "/" + "work/", "CONTRACT" + ".md", "seeds" + "/")
TEXT_SAMPLE_BYTES = 8192

_FENCED_BLOCK = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
_EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.I)
_EXTERNAL = re.compile(r"^(https?:|mailto:)", re.I)


@cache
def repository_files() -> tuple[str, ...]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    return tuple(sorted(path for path in listed if path and (REPO / path).is_file()))


def _text(path: str) -> str | None:
    raw = (REPO / path).read_bytes()
    if b"\0" in raw[:TEXT_SAMPLE_BYTES]:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def forbidden_mentions(text: str) -> list[tuple[int, str]]:
    """(line number, forbidden string) for each line of text that names a path outside the repository."""
    return [
        (number, needle)
        for number, line in enumerate(text.splitlines(), start=1)
        for needle in FORBIDDEN
        if needle in line
    ]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower-cased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", text))


def anchors(markdown: str) -> set[str]:
    found: set[str] = set(_EXPLICIT_ANCHOR.findall(markdown))
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_FENCED_BLOCK.sub("", markdown)):
        slug = github_slug(heading)
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def link_targets(markdown: str) -> list[str]:
    """The targets of the markdown links in text, leaving out code (blocks and spans)."""
    prose = _INLINE_CODE.sub("", _FENCED_BLOCK.sub("", markdown))
    return _LINK.findall(prose)


def broken_links(path: str, markdown: str, files: frozenset[str]) -> list[str]:
    problems = []
    for target in link_targets(markdown):
        if _EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        if not file_part:
            resolved = path
        elif file_part.startswith("/") or re.match(r"^[a-z][a-z0-9+.-]*:", file_part, re.I):
            problems.append(f"{target} (not a relative path in the repository)")
            continue
        else:
            resolved = _normalise(PurePosixPath(path).parent / unquote(file_part))
        if resolved is None or (resolved != path and resolved not in files and not _is_directory_of(resolved, files)):
            problems.append(f"{target} (no such file in the repository)")
        elif anchor and resolved.endswith(".md") and anchor not in anchors(markdown if resolved == path else _text(resolved) or ""):
            problems.append(f"{target} (no heading or anchor #{anchor} in {resolved})")
    return problems


def _normalise(path: PurePosixPath) -> str | None:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None  # above the repository's root
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _is_directory_of(path: str, files: frozenset[str]) -> bool:
    return any(f.startswith(path.rstrip("/") + "/") for f in files)


# -- the repository --------------------------------------------------------------------------------


def test_no_file_names_a_path_outside_the_repository() -> None:
    found = [
        f"{path}:{number}: {needle}"
        for path in repository_files()
        if (text := _text(path)) is not None
        for number, needle in forbidden_mentions(text)
    ]
    assert not found, "files that name a path outside the repository:\n" + "\n".join(found)


def test_every_relative_markdown_link_lands_in_the_repository() -> None:
    files = frozenset(repository_files())
    markdown_files = [path for path in files if path.endswith(".md")]
    assert "README.md" in markdown_files
    found = [
        f"{path}: {problem}"
        for path in sorted(markdown_files)
        for problem in broken_links(path, _text(path) or "", files)
    ]
    assert not found, "markdown links that lead nowhere in the repository:\n" + "\n".join(found)


# -- the checks themselves, on planted cases ---------------------------------------------------------


@pytest.mark.parametrize("needle", FORBIDDEN)
def test_each_forbidden_path_is_found(needle: str) -> None:
    assert forbidden_mentions(f"fine\nsee {needle}x for details\n") == [(2, needle)]


def test_links_are_checked_against_files_and_anchors() -> None:
    files = frozenset({"README.md", "docs/api.md", "docs/errors.md"})
    markdown = (
        "# Title\n## Account API (§2)\n"
        "[ok](api.md) [up](../README.md) [web](https://example.com/x) [self](#account-api-2)\n"
        "[missing](docs/nope.md) [outside](../../elsewhere.md) [bad anchor](#nowhere) [abs](/etc/passwd)\n"
        "`[in code](docs/nope.md)`\n```\n[in a block](docs/nope.md)\n```\n"
    )
    problems = broken_links("docs/guide.md", markdown, files)
    assert problems == [
        "docs/nope.md (no such file in the repository)",
        "../../elsewhere.md (no such file in the repository)",
        "#nowhere (no heading or anchor #nowhere in docs/guide.md)",
        "/etc/passwd (not a relative path in the repository)",
    ], problems


def test_github_slugs() -> None:
    assert github_slug("Topics and sending API, and POST /sessions (§4, §0)") == "topics-and-sending-api-and-post-sessions-4-0"
    assert github_slug("The operator CLI: `pushgate`") == "the-operator-cli-pushgate"
    assert anchors("# A\n## A\n<a id=\"x-1\"></a>") == {"a", "a-1", "x-1"}
