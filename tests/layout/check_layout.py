#!/usr/bin/python3
"""check_layout: the architecture the tree promises, checked on the sources.

- lib/ holds only folders, each with a README.md and a CMakeLists.txt;
- nothing in lib/platforms/ includes a database header, calls libpq or holds SQL;
- nothing in lib/auth/, lib/core/ or lib/webhooks/ touches the database or FastCGI;
- lib/spool/ (a host's cache of videos) touches no database and holds no SQL,
  links only sp_core, and nothing in lib/ but itself includes its headers
  (only worker/ uses it);
- cgi-bin/ holds no SQL and no database calls (lib/api does);
- libpq stays in lib/db: elsewhere no libpq header, no libpq call and no
  libpq type (results are read with db.h's sp_rows_*); LISTEN goes through
  db/listen.h; lib/db's own db_conn.h is included only inside lib/db;
- the mains stay thin: each cgi-bin file and worker/main.c at most 200 lines;
- HTTP goes out one way: libcurl's transfer calls only in lib/core/http_client.c.

Run by ctest (layout.boundaries); prints each breach and exits 1 on any.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DB_WORDS = re.compile(r'#include\s*[<"](db/|libpq|postgres)|\bPQ[a-z]+\w*\s*\(|\bsp_db\b|\bsp_stmt\b')
SQL_WORDS = re.compile(r'"[^"\n]*\b(SELECT|INSERT INTO|UPDATE\s+\w|DELETE FROM|SET LOCAL)\b')
FCGI_WORDS = re.compile(r'#include\s*[<"]fcgi|\bFCGX_')
MAIN_MAX_LINES = 200
CURL_CALLS = re.compile(r'\bcurl_(easy|multi|share|mime|slist|url)_\w+\s*\(')
HTTP_CLIENT = "lib/core/http_client.c"


def sources(folder):
    path = os.path.join(ROOT, folder)
    for name in sorted(os.listdir(path)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(path, name), encoding="utf-8") as f:
                yield f"{folder}/{name}", f.read()


# libpq belongs to lib/db (connections, statements, LISTEN: db/db.h,
# db/listen.h); a result is read through db.h's sp_rows_* functions.
LIBPQ_WORDS = re.compile(r'#include\s*[<"](libpq|db/db_conn\.h)|\bPQ\w+\s*\(|\bPG(result|conn|notify)\b|\bPGRES_')


def libpq_outside_db():
    found = []
    folders = ["cgi-bin", "worker"] + [f"lib/{n}" for n in sorted(os.listdir(os.path.join(ROOT, "lib")))
                                       if n != "db" and os.path.isdir(os.path.join(ROOT, "lib", n))]
    for folder in folders:
        for name, text in sources(folder):
            for n, line in enumerate(text.splitlines(), 1):
                if LIBPQ_WORDS.search(line):
                    found.append(f"{name}:{n}: libpq outside lib/db: {line.strip()}")
    return found


def spool_breaches():
    """lib/spool links sp_core alone, and only worker/ includes its headers."""
    found = []
    with open(os.path.join(ROOT, "lib", "spool", "CMakeLists.txt"), encoding="utf-8") as f:
        for n, line in enumerate(f.read().splitlines(), 1):
            m = re.match(r"\s*target_link_libraries\(sp_spool\s+\w+\s+(.*)\)", line)
            if m and m.group(1).split() != ["sp_core"]:
                found.append(f"lib/spool/CMakeLists.txt:{n}: links more than sp_core: {line.strip()}")
    for folder in sorted(os.listdir(os.path.join(ROOT, "lib"))):
        if folder == "spool" or not os.path.isdir(os.path.join(ROOT, "lib", folder)):
            continue
        for name, text in sources(f"lib/{folder}"):
            for n, line in enumerate(text.splitlines(), 1):
                if re.search(r'#include\s*"spool/', line):
                    found.append(f"{name}:{n}: uses the spool (only worker/ may): {line.strip()}")
    return found


def main():
    breaches = []
    lib = os.path.join(ROOT, "lib")
    for name in sorted(os.listdir(lib)):
        path = os.path.join(lib, name)
        if not os.path.isdir(path):
            breaches.append(f"lib/{name}: lib/ holds only folders")
            continue
        for needed in ("README.md", "CMakeLists.txt"):
            if not os.path.exists(os.path.join(path, needed)):
                breaches.append(f"lib/{name}: has no {needed}")
    for folder, words, what in (("lib/platforms", DB_WORDS, "touches the database"),
                                ("lib/platforms", SQL_WORDS, "holds SQL"),
                                ("lib/auth", DB_WORDS, "touches the database"),
                                ("lib/core", DB_WORDS, "touches the database"),
                                ("lib/webhooks", DB_WORDS, "touches the database"),
                                ("lib/spool", DB_WORDS, "touches the database"),
                                ("lib/spool", SQL_WORDS, "holds SQL"),
                                ("lib/spool", FCGI_WORDS, "touches FastCGI"),
                                ("lib/webhooks", SQL_WORDS, "holds SQL"),
                                ("lib/webhooks", FCGI_WORDS, "touches FastCGI"),
                                ("lib/auth", FCGI_WORDS, "touches FastCGI"),
                                ("lib/core", FCGI_WORDS, "touches FastCGI"),
                                ("lib/platforms", FCGI_WORDS, "touches FastCGI"),
                                ("cgi-bin", SQL_WORDS, "holds SQL"),
                                ("cgi-bin", re.compile(r"\bsp_db_(exec|simple)\b|\bPQ\w+\("),
                                 "runs statements itself")):
        for name, text in sources(folder):
            for n, line in enumerate(text.splitlines(), 1):
                if words.search(line):
                    breaches.append(f"{name}:{n}: {what}: {line.strip()}")
    breaches += libpq_outside_db()
    breaches += spool_breaches()
    for name, text in list(sources("cgi-bin")) + [("worker/main.c", open(
            os.path.join(ROOT, "worker", "main.c"), encoding="utf-8").read())]:
        lines = text.count("\n")
        if lines > MAIN_MAX_LINES:
            breaches.append(f"{name}: {lines} lines; a main stays under {MAIN_MAX_LINES}")
    for folder in ["cgi-bin", "worker"] + [f"lib/{n}" for n in sorted(os.listdir(lib))
                                           if os.path.isdir(os.path.join(lib, n))]:
        for name, text in sources(folder):
            for n, line in enumerate(text.splitlines(), 1):
                if name != HTTP_CLIENT and CURL_CALLS.search(line):
                    breaches.append(f"{name}:{n}: calls libcurl (HTTP goes through "
                                    f"{HTTP_CLIENT}): {line.strip()}")
    for b in breaches:
        print(b)
    print(f"layout: {len(breaches)} breaches")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
