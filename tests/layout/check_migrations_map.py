#!/usr/bin/python3
"""check_migrations_map: migrations/README.md's map of SQL functions, checked
against the migrations themselves.

Migrations are append-only, so a function's current definition is in the
last file (in filename order) that creates or replaces it, unless a later one
drops it. This script reads every migrations/*.sql (comments stripped), finds
each CREATE [OR REPLACE] FUNCTION and DROP FUNCTION in order, and compares
the result with the README's table between the map markers: a function
missing from the map, a function the migrations no longer have, or a row
naming another file is a breach. The table's third column (what the
function is for) is the README's own and is not checked.

Run by ctest (layout.migrations_map); prints each breach and exits 1 on any.
`--write` rewrites the table from the migrations, keeping each row's third
column (a new function's is left empty to fill in).
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIGRATIONS = os.path.join(ROOT, "migrations")
README = os.path.join(MIGRATIONS, "README.md")
BEGIN = "<!-- functions map: begin (tests/layout/check_migrations_map.py) -->"
END = "<!-- functions map: end -->"
NAME = r'((?:"?[A-Za-z_][A-Za-z0-9_$]*"?\s*\.\s*)?"?[A-Za-z_][A-Za-z0-9_$]*"?)'
STATEMENT = re.compile(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION|DROP\s+FUNCTION(?:\s+IF\s+EXISTS)?)\s+" + NAME,
    re.I)
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


def strip_comments(sql):
    """The text without -- and /* */ comments (string literals are left as
    they are; our migrations put no comment markers inside them)."""
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    return re.sub(r"--[^\n]*", "", sql)


def qualified(name):
    """schema.name, lower case, without quotes; public when unqualified."""
    parts = [p.strip().strip('"') for p in name.split(".")]
    if len(parts) == 1:
        parts.insert(0, "public")
    return ".".join(parts).lower()


def current_definitions():
    """{function: the migration file that holds its current definition}."""
    where = {}
    for name in sorted(os.listdir(MIGRATIONS)):
        if not name.endswith(".sql"):
            continue
        with open(os.path.join(MIGRATIONS, name), encoding="utf-8") as f:
            text = strip_comments(f.read())
        for m in STATEMENT.finditer(text):
            fn = qualified(m.group(1))
            if m.group(0).upper().startswith("DROP"):
                where.pop(fn, None)
            else:
                where[fn] = name
    return where


def read_map(text):
    """The README's table: {function: (migration, what)}, or None without
    the markers."""
    if BEGIN not in text or END not in text:
        return None
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    rows = {}
    for line in table.splitlines():
        m = ROW.match(line.strip())
        if m and m.group(1) != "function":
            rows[m.group(1)] = (m.group(2), m.group(3).strip())
    return rows


def render(where, old):
    """The table for where, keeping each function's description from old."""
    lines = ["", "", "| function | current definition | what it is for |", "|---|---|---|"]
    for fn in sorted(where):
        lines.append(f"| `{fn}` | `{where[fn]}` | {old.get(fn, ('', ''))[1]} |")
    return "\n".join(lines) + "\n"


def main():
    where = current_definitions()
    with open(README, encoding="utf-8") as f:
        text = f.read()
    rows = read_map(text)
    if "--write" in sys.argv[1:]:
        if rows is None:
            print(f"{README}: no map markers to write between")
            return 1
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        with open(README, "w", encoding="utf-8") as f:
            f.write(text[:start] + render(where, rows) + text[end:])
        print(f"migrations map: {len(where)} functions written")
        return 0
    breaches = []
    if rows is None:
        breaches.append(f"migrations/README.md: no functions map ({BEGIN} ... {END})")
        rows = {}
    for fn in sorted(set(where) | set(rows)):
        if fn not in rows:
            breaches.append(f"{fn}: defined now in {where[fn]}, missing from the map")
        elif fn not in where:
            breaches.append(f"{fn}: in the map ({rows[fn][0]}), but no migration defines it now")
        elif rows[fn][0] != where[fn]:
            breaches.append(f"{fn}: the map says {rows[fn][0]}, its current definition is in "
                            f"{where[fn]}")
    for b in breaches:
        print(b)
    if breaches:
        print("(python3 tests/layout/check_migrations_map.py --write rewrites the map)")
    print(f"migrations map: {len(where)} functions, {len(breaches)} breaches")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
