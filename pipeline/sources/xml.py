"""Safe XML for the JATS route: expat directly, each element's start line kept, entity declarations refused.

Element names are matched by local name, so the same code reads Europe PMC's namespace-free
article and PMC OAI's envelope whose `<article>` has a default namespace.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from pipeline.core.problems import Problem, ProblemsFound


class XmlDocument:
    """An ElementTree with the line where each element starts."""

    def __init__(self, root: Element, lines: dict[int, int]):
        self.root = root
        self._lines = lines

    def line(self, element: Element | None) -> int | None:
        return None if element is None else self._lines.get(id(element))


def local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(element: Element, name: str) -> list[Element]:
    return [child for child in element if local(child.tag) == name]


def descendants(element: Element, name: str) -> list[Element]:
    return [node for node in element.iter() if local(node.tag) == name]


def first(element: Element | None, name: str) -> Element | None:
    """The first element named `name` at or below `element`, in document order."""
    if element is None:
        return None
    return next((node for node in element.iter() if local(node.tag) == name), None)


def text_of(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def parse_xml(data: bytes, file: str) -> XmlDocument:
    """Parse with expat, keeping each element's start line; refuse entity declarations."""
    builder = TreeBuilder()
    lines: dict[int, int] = {}
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def start(tag: str, attributes: dict[str, str]) -> None:
        element = builder.start(name(tag), {name(k): v for k, v in attributes.items()})
        lines[id(element)] = parser.CurrentLineNumber

    def refuse_entity(entity: str, *_: object) -> None:
        raise ProblemsFound([Problem("unsafe-xml", f"the XML declares an entity ({entity}); JATS from PMC or "
                                     "Europe PMC declares none, and entity expansion can exhaust memory",
                                     file=file, line=parser.CurrentLineNumber,
                                     suggestion="fetch the article again with `ketamap fetch-source`")])

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = refuse_entity
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise ProblemsFound([Problem("malformed-xml", f"the file is not well-formed XML: "
                                     f"{expat.ErrorString(error.code)} (column {error.offset + 1})",
                                     file=file, line=error.lineno,
                                     suggestion="fetch the article again with `ketamap fetch-source`")]) from None
    # The tree keeps every element alive, so the ids in `lines` stay valid as long as it does.
    return XmlDocument(builder.close(), lines)
