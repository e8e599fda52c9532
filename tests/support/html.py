"""A small HTML reader for page tests: elements with attributes, text and parents.

Enough to ask what a person or a screen reader would: which field has this id, what does
its label say, which message is it described by, what does the page's error summary list.
Built on the standard library's tolerant ``html.parser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The element's text, whitespace collapsed; the texts of separate elements are
        separated by a space (``<dt>Namn</dt><dd>Anna</dd>`` reads "Namn Anna")."""
        parts: list[str] = []

        def visit(node: Element | str) -> None:
            if isinstance(node, str):
                parts.append(node)
            else:
                for child in node.children:
                    visit(child)

        visit(self)
        return " ".join(" ".join(parts).split())

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements below (and including) this one with ``tag`` and these attribute values
        (``class_`` matches one class among several)."""
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            if all(_matches(element, name, value) for name, value in attrs.items()):
                found.append(element)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        """The first such element; an AssertionError names what is missing."""
        found = self.find_all(tag, **attrs)
        if not found:
            raise AssertionError(f"no <{tag or '*'}> with {attrs}")
        return found[0]

    def has(self, tag: str | None = None, **attrs: str) -> bool:
        return bool(self.find_all(tag, **attrs))

    def by_id(self, element_id: str) -> Element:
        found = self.find_all(id=element_id)
        if not found:
            raise AssertionError(f"no element with id {element_id!r}")
        return found[0]

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def closest(self, tag: str | None = None, **attrs: str) -> Element | None:
        for node in self.ancestors():
            if (tag is None or node.tag == tag) and all(
                _matches(node, n, v) for n, v in attrs.items()
            ):
                return node
        return None


def _matches(element: Element, name: str, value: str) -> bool:
    if name == "class_":
        return value in element.attrs.get("class", "").split()
    return element.attrs.get(name.rstrip("_").replace("_", "-")) == value


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs}, self.current)
        self.current.children.append(element)

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(markup: str) -> Element:
    builder = _Builder()
    builder.feed(markup)
    builder.close()
    return builder.root


def described_by(page: Element, control: Element) -> list[str]:
    """The texts a screen reader reads as the control's description (aria-describedby)."""
    ids = control.attrs.get("aria-describedby", "").split()
    return [page.by_id(i).text for i in ids]


def label_of(page: Element, control: Element) -> str:
    """The control's accessible name from its ``<label for=…>``."""
    return page.find("label", for_=control.attrs.get("id", "\0")).text
