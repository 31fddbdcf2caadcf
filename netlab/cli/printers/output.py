"""`-o yaml` and `-o json`, with several objects wrapped in a v1 List as kubectl does."""

from __future__ import annotations

import json
from typing import Any

import yaml


# ----- -o yaml / -o json ------------------------------------------------------------------------
def _as_document(obj_or_list: dict | list[dict]) -> dict:
    if isinstance(obj_or_list, list):
        return {"apiVersion": "v1", "items": list(obj_or_list), "kind": "List",
                "metadata": {"resourceVersion": ""}}
    return obj_or_list


class _Dumper(yaml.SafeDumper):
    """Block style, no `&id001` anchors for objects that share a dict (views reuse label dicts)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(obj_or_list: dict | list[dict]) -> str:
    """One object as itself; a list (what `get KIND` returns, however many) as a v1 List, like kubectl."""
    return yaml.dump(_as_document(obj_or_list), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def to_json(obj_or_list: dict | list[dict]) -> str:
    """Like to_yaml, as JSON indented by 4 spaces (kubectl's layout), without a trailing newline."""
    return json.dumps(_as_document(obj_or_list), indent=4, ensure_ascii=False)


