"""One HTML parser for what the tests read in pages and mails."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

# Elements that have no end tag (HTML Living Standard, "void elements").
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


class ParsedHtml(HTMLParser):
    """A document, parsed once: its elements with their attributes, its scripts with their text,
    all of its text, the ``<html lang>``, the targets of its links, the text of hidden blocks (a
    mail's preview text), and every place where its tags do not balance."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.text = ""
        self.lang: str | None = None
        self.hrefs: list[str] = []  # of <a> elements
        self.hidden_divs: list[str] = []  # the text of each <div style="display:none">
        self.stack: list[str] = []  # the elements still open
        self.errors: list[str] = []
        self._script: dict[str, str] | None = None
        self._script_text: list[str] = []
        self._in_hidden = False
        self.feed(html)
        self.close()

    # -- what the tests ask
    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.elements if "id" in attrs}

    @property
    def images(self) -> list[dict[str, str]]:
        """The attributes of each ``<img>``."""
        return [attrs for tag, attrs in self.elements if tag == "img"]

    def script_json(self, element_id: str) -> dict[str, Any]:
        """The JSON in the ``<script>`` with this id (a data block)."""
        [body] = [text for attrs, text in self.scripts if attrs.get("id") == element_id]
        return dict(json.loads(body))

    def url(self, tag: str, attr: str, ending: str) -> str:
        """The one URL in ``attr`` of a ``tag`` element that ends with ``ending``."""
        [url] = [a[attr] for t, a in self.elements if t == tag and a.get(attr, "").endswith(ending)]
        return url

    # -- HTMLParser's callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._script_text)))
            self._script = None
        if tag == "div":
            self._in_hidden = False
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._script is not None:
            self._script_text.append(data)
        if self._in_hidden:
            self.hidden_divs[-1] += data

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        self.elements.append((tag, values))
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"])
        if tag == "script":
            self._script, self._script_text = values, []
        if tag == "div" and "display:none" in values.get("style", "").replace(" ", ""):
            self._in_hidden = True
            self.hidden_divs.append("")
