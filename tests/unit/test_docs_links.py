"""Every relative link of the README and docs/*.md resolves: the file exists and, for a
link into a Markdown file, the anchor does too (an explicit ``<a id="...">`` or a
heading's GitHub slug). Citations of the docs in code (``docs/metrics.md#on-time`` in a
comment of services/, tests/ or benchmarks/) are checked the same way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".sql", ".toml")

_FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
_CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
_EXPLICIT = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")


def _prose(text: str) -> str:
    """The text without fenced blocks and code spans (their brackets are not links)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def github_slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found = set(_EXPLICIT.findall(text))
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = github_slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def links(path: Path) -> list[str]:
    """The relative link targets of a page (http:, https:, mailto: ... left out)."""
    targets = _LINK.findall(_prose(path.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def test_github_slug():
    assert github_slug("Form II.06a") == "form-ii06a"
    assert (
        github_slug("A snapshot is state, not an event (contract v2)")
        == "a-snapshot-is-state-not-an-event-contract-v2"
    )
    assert github_slug("Store (`adapters/clickhouse_store.py`)") == "store-adaptersclickhouse_storepy"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_and_anchors_resolve(page):
    broken = []
    for target in links(page):
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no anchor #{anchor} in {dest.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_citations_of_the_docs_in_code_resolve():
    broken, seen = [], 0
    for top in ("services", "tests", "benchmarks"):
        for path in sorted((REPO / top).rglob("*")):
            if path.suffix not in CODE_SUFFIXES or "__pycache__" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for name, anchor in _CITATION.findall(text):
                seen += 1
                dest = REPO / "docs" / name
                where = f"{path.relative_to(REPO)}: docs/{name}"
                if not dest.exists():
                    broken.append(f"{where}: no such file")
                elif anchor and anchor not in anchors(dest):
                    broken.append(f"{where}#{anchor}: no such anchor")
    assert seen > 20  # the scan found the citations
    assert not broken, "; ".join(broken)


_TEST_REF = re.compile(r"((?:tests/[\w/]+/)?test_\w+\.py)?::(test_\w+)")


def _test_file(ref: str) -> Path | None:
    """A test file named by its path, or by its bare name when that is unique."""
    if ref.startswith("tests/"):
        return REPO / ref
    found = list((REPO / "tests").rglob(ref))
    return found[0] if len(found) == 1 else None


def test_tests_named_in_the_docs_exist():
    """``tests/x.py::test_y``, ``test_x.py::test_y`` (a unique file name) and ``::test_z``
    after either on the same line name real test functions in the docs, so the
    architecture map's tying tests stay true."""
    missing, seen = [], 0
    for page in PAGES:
        for line in page.read_text(encoding="utf-8").splitlines():
            path = None
            for file_part, name in _TEST_REF.findall(line):
                path = file_part or path
                if path is None:
                    continue
                seen += 1
                test_file = _test_file(path)
                text = test_file.read_text(encoding="utf-8") if test_file else ""
                if not re.search(rf"^(async )?def {name}\(", text, re.MULTILINE):
                    missing.append(f"{page.name}: {path}::{name}")
    assert seen > 30
    assert not missing, "; ".join(missing)
