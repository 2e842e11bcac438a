"""The platforms' documented examples (tests/platform_docs/), for the fakes and tests.

The fakes answer from these files, so what they send is what the documentation
shows: answer() starts from a documented body and replaces only members the
documented body already has (a fake's own ids, offsets), and refuses any other,
so a fake cannot grow a member the platform never sends without a failure here.
"""
import copy
import json
import os

DOCS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "platform_docs")
_cache = {}


def example(platform, name):
    """The whole example file tests/platform_docs/<platform>/<name>.json (a copy)."""
    key = (platform, name)
    if key not in _cache:
        with open(os.path.join(DOCS_DIR, platform, name + ".json"), encoding="utf-8") as f:
            _cache[key] = json.load(f)
    return copy.deepcopy(_cache[key])


def _replace(body, path, value, where):
    """Sets the member at the dotted path, which the documented body must have."""
    parts = path.split(".")
    node = body
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"{where}: the documented answer has no {path!r}")
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        raise KeyError(f"{where}: the documented answer has no {path!r}")
    node[parts[-1]] = value


def answer(platform, name, replace=None, drop=()):
    """(status, headers, body) of a documented answer, with the members at the
    dotted paths of replace set to the fake's real values, and the dotted paths
    of drop removed (a member the documentation marks as optional)."""
    doc = example(platform, name)
    resp = doc["response"]
    body = resp.get("body")
    where = f"{platform}/{name}"
    for path, value in (replace or {}).items():
        _replace(body, path, value, where)
    for path in drop:
        parts = path.split(".")
        node = body
        for part in parts[:-1]:
            node = node[part]
        node.pop(parts[-1])
    return resp["status"], dict(resp.get("headers") or {}), body


def names(platform):
    """The example names a platform has."""
    folder = os.path.join(DOCS_DIR, platform)
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))
