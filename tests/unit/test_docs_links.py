"""The README is what a newcomer reads first: short, with the two commands, and every page it and
the docs point to is in the clone. The checker (``support.markdown_links``) is tested on small
documents with one fault planted in each, then run on the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.markdown_links import heading_slug, link_problems, markdown_files, unlinked_documents

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Under 15 KB as `wc -c` counts, with room for the sections later issues add.
README_MAX_BYTES = 15_000


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def problems_of(root: Path, name: str) -> list[str]:
    return link_problems(root, root / name)


# -- the checker, on planted faults --------------------------------------------------------------


def test_links_that_resolve_in_the_repository_pass(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "README.md": "# Top\n\nSee [the API](docs/api.md#errors), [below](#top), "
            "[a folder](docs/) and [the web](https://example.com/x).\n",
            "docs/api.md": "# The API\n\n## Errors\n\nBack to the [README](../README.md#top); "
            "results in `bench/results.md`.\n",
            "bench/results.md": "# Results\n",
        },
    )
    assert problems_of(tmp_path, "README.md") == []
    assert problems_of(tmp_path, "docs/api.md") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The contract: [contract](../shared/api-contract.md).\n", "../shared"),
        ("The contract is in `../shared/api-contract.md`.\n", "../shared"),
        ("Design notes: [design](../../outside.md).\n", "leaves the repository"),
        ("See [config](docs/configuration.md).\n", "names no file"),
        ("See `docs/configuration.md`.\n", "names no file"),
        ("See [the disk](/work/shared/design.md).\n", "absolute path"),
        ('<a href="docs/missing.md">missing</a>\n', "names no file"),
        ("[ref]: docs/missing.md\n", "names no file"),
        ("See [a file](file:///etc/passwd).\n", "not a web link"),
        ("See [here](#nowhere).\n", "no such heading here"),
        ("See [errors](docs/api.md#no-such-section).\n", "has no such heading"),
    ],
)
def test_each_planted_fault_is_found(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, {"README.md": "# Top\n\n" + text, "docs/api.md": "# The API\n\n## Errors\n"})
    problems = problems_of(tmp_path, "README.md")
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith("README.md:3: ") for problem in problems), problems


def test_links_in_code_blocks_are_not_followed_but_shared_notes_are_still_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"README.md": "# Top\n\n```sh\ncat [x](missing.md)\n```\n\n```\ncat ../shared/design.md\n```\n"},
    )
    assert [p.split(": ", 1)[1] for p in problems_of(tmp_path, "README.md")] == [
        "names ../shared, which a clone does not have"
    ]


def test_heading_ids_are_githubs() -> None:
    assert heading_slug('"It wasn\'t me": locking the account from the mail') == (
        "it-wasnt-me-locking-the-account-from-the-mail"
    )
    assert heading_slug("Run it locally: `make dev`") == "run-it-locally-make-dev"
    assert heading_slug("Cost per 1,000 staff resets, end to end") == "cost-per-1000-staff-resets-end-to-end"
    assert (
        heading_slug("self-service request: 3 calls, minimum 3 — PASS")
        == "self-service-request-3-calls-minimum-3--pass"
    )
    assert (
        heading_slug("An addition for portals: `GET /v1/accounts`")
        == "an-addition-for-portals-get-v1accounts"
    )


def test_repeated_headings_are_numbered(tmp_path: Path) -> None:
    write(tmp_path, {"a.md": "# A\n\n## Notes\n\n## Notes\n\n[second](#notes-1), [third](#notes-2)\n"})
    problems = problems_of(tmp_path, "a.md")
    assert len(problems) == 1 and "#notes-2" in problems[0], problems


def test_a_doc_the_readme_does_not_link_is_named(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"README.md": "[api](docs/api.md)\n", "docs/api.md": "# API\n", "docs/forgotten.md": "# Forgotten\n"},
    )
    assert unlinked_documents(tmp_path, tmp_path / "README.md", tmp_path / "docs") == ["docs/forgotten.md"]


def test_hidden_and_output_directories_are_not_the_repositorys_text(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "README.md": "# Top\n",
            "docs/api.md": "# API\n",
            ".venv/lib/pkg/README.md": "[x](../shared/x.md)\n",
            "bench/.work/notes.md": "[x](../shared/x.md)\n",
            "test-output/browser/notes.md": "[x](../shared/x.md)\n",
        },
    )
    assert [p.relative_to(tmp_path).as_posix() for p in markdown_files(tmp_path)] == [
        "README.md",
        "docs/api.md",
    ]


# -- the repository --------------------------------------------------------------------------------


def test_the_readme_is_short_and_names_the_two_commands() -> None:
    size = README.stat().st_size
    assert size < README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/"
    text = README.read_text(encoding="utf-8")
    assert "make dev" in text and "make test" in text


def test_every_link_in_the_repositorys_markdown_stays_inside_and_resolves() -> None:
    documents = markdown_files(ROOT)
    assert README in documents and ROOT / "docs" / "api.md" in documents
    problems = [problem for document in documents for problem in link_problems(ROOT, document)]
    assert not problems, "\n".join(problems)


def test_the_readme_links_every_doc() -> None:
    assert unlinked_documents(ROOT, README, ROOT / "docs") == []
