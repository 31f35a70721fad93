"""Open311 answers as the spec shapes them, in JSON or XML.

XML is built with ElementTree, so every value is escaped; the element names follow the spec's examples
(`services/service`, `service_requests/request`, `service_definition/attributes/attribute/values/value`,
`errors/error`).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import Response

# A list under this key (or at the top) holds elements of this name.
ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "discovery": "discovery",
    "endpoints": "endpoint",
    "formats": "format",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), inner)
    elif isinstance(value, list):
        child = ITEM.get(element.tag, "item")
        for inner in value:
            _fill(ET.SubElement(element, child), inner)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        element, encoding="utf-8", xml_declaration=False
    )


def answer(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, value), status_code=status, media_type="text/xml; charset=utf-8")
    body = json.dumps(value, ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json; charset=utf-8")


def error(fmt: str, status: int, description: str) -> Response:
    """The spec's error: a list of {code, description} (`errors/error` in XML)."""
    return answer(
        fmt if fmt in ("json", "xml") else "json",
        "errors",
        [{"code": status, "description": description}],
        status,
    )
