"""Derive sandbox/botapi_schema.json from telegram-bot-api-spec's api.json.

Run by hand when the Bot API changes:

    python -m sandbox.derive_schema /path/to/api.json

Only names, types, required flags, return types and the discriminator constant of
union subtypes ("must be photo", 'always "emoji"') are kept; no prose.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("botapi_schema.json")
# Fields whose value selects the concrete subtype of a union (BotCommandScope, ChatMember, ...).
DISCRIMINATORS = ("type", "status", "source")
_CONST = re.compile(r"(?:must be|always)\s+[\"“]?([a-z_]+)[\"”]?")


def _fields(fields: list[dict[str, Any]], with_const: bool) -> list[dict[str, Any]]:
    out = []
    for f in fields:
        item: dict[str, Any] = {"name": f["name"], "types": f["types"], "required": f["required"]}
        if with_const and f["name"] in DISCRIMINATORS:
            m = _CONST.search(f.get("description", ""))
            if m:
                item["const"] = m.group(1)
        out.append(item)
    return out


def derive(api: dict[str, Any]) -> dict[str, Any]:
    methods = {
        name: {"fields": _fields(m.get("fields", []), False), "returns": m["returns"]}
        for name, m in sorted(api["methods"].items())
    }
    types: dict[str, Any] = {}
    for name, t in sorted(api["types"].items()):
        entry: dict[str, Any] = {}
        if "fields" in t:
            entry["fields"] = _fields(t["fields"], bool(t.get("subtype_of")))
        if "subtypes" in t:
            entry["subtypes"] = t["subtypes"]
        types[name] = entry
    return {
        "source": (
            "derived from telegram-bot-api-spec api.json (MIT, Paul Larsen; see BOTAPI_LICENSE), "
            f"{api['version']}"
        ),
        "version": api["version"],
        "release_date": api.get("release_date"),
        "methods": methods,
        "types": types,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m sandbox.derive_schema /path/to/api.json", file=sys.stderr)
        return 2
    api = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    schema = derive(api)
    OUT.write_text(json.dumps(schema, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(schema['methods'])} methods, {len(schema['types'])} types)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
