"""Reads the repository's Markdown as a reader of a fresh clone meets it (``tests/unit/test_docs_links.py``).

A clone has only what is committed: a link to ``../shared/...`` or to a file that moved is a dead
end for that reader. ``link_problems`` follows every relative link (Markdown ``[text](target)``,
reference definitions, HTML ``href``/``src``) and every code span that names a ``.md`` file, and
reports the ones that leave the repository or find nothing there, anchors included (GitHub's
heading ids). Web links (``http``, ``https``, ``mailto``) are not followed.

Each function returns what is wrong, one line each, naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

# Directories that are not the repository's own text: virtualenvs, caches, build and test output.
SKIPPED_DIRECTORIES = frozenset({"node_modules", "test-output", "build"})
WEB_SCHEMES = frozenset({"http", "https", "mailto"})
# The notes a clone lacks: the project's shared folder beside the repository.
OUTSIDE_NOTES = "../shared"

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HTML_TARGET = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
HTML_ANCHOR = re.compile(r"""<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']""")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
MD_PATH = re.compile(r"^[\w.@+-]*(?:/[\w.@+-]+)*\.md$")
SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def markdown_files(root: Path) -> list[Path]:
    """Every ``.md`` file of the repository, without hidden directories (``.venv``, ``.git``,
    ``bench/.work``, ...) and build or test output."""
    found = []
    for path in root.rglob("*.md"):
        parts = path.relative_to(root).parts[:-1]
        if any(part.startswith(".") or part in SKIPPED_DIRECTORIES for part in parts):
            continue
        found.append(path)
    return sorted(found)


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, where a link is a link."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def heading_slug(heading: str) -> str:
    """The id GitHub gives a heading: its text (a link's text, no code marks or emphasis),
    lower case, without punctuation but ``-`` and ``_``, spaces as ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[`*]", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every id a link may point at in a Markdown document: headings (repeats numbered ``-1``,
    ``-2`` as GitHub does) and explicit HTML anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(text):
        heading = HEADING.match(line)
        if heading:
            slug = heading_slug(heading.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
        found.update(HTML_ANCHOR.findall(line))
    return found


def link_targets(text: str) -> Iterator[tuple[int, str]]:
    """(line number, target) of every link in the prose, and of every code span naming a
    ``.md`` file (a path a reader will try to open)."""
    for number, line in prose_lines(text):
        spans = [match.group(2).strip() for match in CODE_SPAN.finditer(line)]
        prose = CODE_SPAN.sub("", line)
        for target in INLINE_LINK.findall(prose):
            yield number, target
        definition = REFERENCE_DEFINITION.match(prose)
        if definition:
            yield number, definition.group(1)
        for target in HTML_TARGET.findall(prose):
            yield number, target
        for span in spans:
            if MD_PATH.match(span):
                yield number, span


def _resolve(root: Path, document: Path, path: str, *, from_root_too: bool) -> Path | None:
    """The file ``path`` names from ``document`` (and, for a code span, from the repository's
    root, as prose often names files), or None when it leaves the repository or is missing."""
    bases = [document.parent, root] if from_root_too else [document.parent]
    for base in bases:
        candidate = (base / path).resolve()
        if candidate.is_relative_to(root.resolve()) and candidate.exists():
            return candidate
    return None


def link_problems(root: Path, document: Path) -> list[str]:
    """What a reader of a clone cannot follow in ``document``."""
    text = document.read_text(encoding="utf-8")
    name = document.relative_to(root).as_posix()
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if OUTSIDE_NOTES in line:
            problems.append(f"{name}:{number}: names {OUTSIDE_NOTES}, which a clone does not have")
    code_spans = {
        (number, match.group(2).strip())
        for number, line in prose_lines(text)
        for match in CODE_SPAN.finditer(line)
    }
    for number, target in link_targets(text):
        where = f"{name}:{number}: {target}"
        scheme = SCHEME.match(target)
        if scheme:
            if scheme.group(1).lower() not in WEB_SCHEMES:
                problems.append(f"{where}: not a web link and not a path in the repository")
            continue
        path, _, anchor = target.partition("#")
        if path.startswith("/") or path.startswith("~"):
            problems.append(f"{where}: an absolute path, not one in the repository")
            continue
        if not path:
            if anchor and anchor not in anchors(text):
                problems.append(f"{where}: no such heading here")
            continue
        found = _resolve(root, document, unquote(path), from_root_too=(number, target) in code_spans)
        if found is None:
            problems.append(f"{where}: leaves the repository or names no file in it")
            continue
        if anchor and found.suffix == ".md" and anchor not in anchors(found.read_text(encoding="utf-8")):
            problems.append(f"{where}: {found.relative_to(root.resolve()).as_posix()} has no such heading")
    return problems


def unlinked_documents(root: Path, index: Path, folder: Path) -> list[str]:
    """The ``.md`` files of ``folder`` that ``index`` never links to."""
    text = index.read_text(encoding="utf-8")
    linked = set()
    for _, target in link_targets(text):
        path = target.partition("#")[0]
        if path and not SCHEME.match(path):
            linked.add((index.parent / unquote(path)).resolve())
    return [
        doc.relative_to(root).as_posix() for doc in sorted(folder.glob("*.md")) if doc.resolve() not in linked
    ]
