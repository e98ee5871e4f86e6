"""Form-encoded bodies and query strings, decoded per field.

Decoding field by field (instead of ``parse_qsl`` on the whole body) lets a value with invalid UTF-8
be reported against its own parameter, e.g. 53102 for ``UniqueName``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes


@dataclass
class Form:
    values: dict[str, list[str]] = field(default_factory=dict)
    #: Parameters whose value was not valid UTF-8.
    undecodable: set[str] = field(default_factory=set)

    def get(self, name: str) -> str | None:
        """The last value of ``name`` (Twilio's libraries send each scalar once)."""
        found = self.values.get(name)
        return found[-1] if found else None

    def get_all(self, name: str) -> list[str]:
        return list(self.values.get(name, ()))

    def __contains__(self, name: str) -> bool:
        return name in self.values or name in self.undecodable


def parse_form(raw: bytes) -> Form:
    form = Form()
    for part in raw.split(b"&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition(b"=")
        try:
            name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            continue
        try:
            value = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            form.undecodable.add(name)
            continue
        form.values.setdefault(name, []).append(value)
    return form
