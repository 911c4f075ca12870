#!/usr/bin/env bash
# Rewrites the two generated tables of docs/permissions.md from the code (the tests print them
# when the page is out of date). Run after changing the matrix or the route table.
set -euo pipefail
cd "$(dirname "$0")/.."
matrix=$(cargo test -q -p kesher-auth the_documented 2>&1 | sed -n '/paste in:/,/^$/p' | grep '^|' || true)
routes=$(cargo test -q -p kesher-http --test it the_documented 2>&1 | sed -n '/paste in:/,/^$/p' | grep '^|' || true)
python3 - "$matrix" "$routes" <<'PY'
import re, sys
matrix, routes = sys.argv[1], sys.argv[2]
p = "docs/permissions.md"
s = open(p).read()
def swap(s, head, new):
    if not new:
        return s
    i = s.index(head)
    j = s.index("\n\n", i)
    return s[:i] + new.rstrip("\n") + s[j:]
s = swap(s, "| action |", matrix)
s = swap(s, "| method | path | action |", routes)
open(p, "w").write(s)
PY
echo "docs/permissions.md is up to date"
