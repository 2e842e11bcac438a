#!/usr/bin/env python3
"""Checks the platforms' documented examples (tests/platform_docs/<platform>/*.json).

Each must be JSON of the shape tests/platform_docs/README.md describes, with at
least one http(s) source, so an example without its origin cannot be added.
Exit 1 with one line per problem.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "platform_docs")
PLATFORMS = {"youtube", "facebook", "instagram", "tiktok", "google"}
REQUEST_PARTS = {"method", "path", "query", "form", "json", "headers", "body"}


def problems_of(path, doc):
    """What is wrong with one example."""
    found = []
    if not isinstance(doc, dict):
        return ["not a JSON object"]
    src = doc.get("source")
    if not isinstance(src, list) or not src or not all(
            isinstance(s, str) and s.startswith(("https://", "http://")) for s in src):
        found.append("source must be a non-empty list of http(s) URLs")
    if not isinstance(doc.get("what"), str) or not doc["what"].strip():
        found.append("what must say what the example is")
    req = doc.get("request")
    if not isinstance(req, dict) or not isinstance(req.get("method"), str) \
            or not isinstance(req.get("path"), str):
        found.append("request needs method and path")
    elif set(req) - REQUEST_PARTS:
        found.append(f"request has unknown members {sorted(set(req) - REQUEST_PARTS)}")
    resp = doc.get("response")
    if not isinstance(resp, dict) or not isinstance(resp.get("status"), int):
        found.append("response needs a numeric status")
    elif "headers" in resp and not isinstance(resp["headers"], dict):
        found.append("response.headers must be an object")
    extra = set(doc) - {"source", "what", "request", "response", "note"}
    if extra:
        found.append(f"unknown members {sorted(extra)}")
    return found


def main():
    bad = 0
    count = 0
    for platform in sorted(os.listdir(ROOT)):
        folder = os.path.join(ROOT, platform)
        if not os.path.isdir(folder):
            continue
        if platform not in PLATFORMS:
            print(f"{platform}/: not a platform of ours ({', '.join(sorted(PLATFORMS))})")
            bad += 1
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not name.endswith(".json"):
                print(f"{platform}/{name}: only .json examples belong here")
                bad += 1
                continue
            count += 1
            try:
                with open(path, encoding="utf-8") as f:
                    doc = json.load(f)
            except (OSError, ValueError) as e:
                print(f"{platform}/{name}: {e}")
                bad += 1
                continue
            for p in problems_of(path, doc):
                print(f"{platform}/{name}: {p}")
                bad += 1
    print(f"platform_docs: {count} examples, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
