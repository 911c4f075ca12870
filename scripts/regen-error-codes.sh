#!/usr/bin/env bash
# Rewrites the generated table of docs/error-codes.md from kesher_core::codes::CATALOGUE (the
# test prints it when the page is out of date). Run after adding or changing an error code.
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(cargo test -q -p kesher-core --lib the_documented_catalogue 2>&1 | sed -n '/paste in:/,/^$/p' | grep '^|' || true)
python3 - "$table" <<'PY'
import sys
table = sys.argv[1]
p = "docs/error-codes.md"
s = open(p).read()
head = "| code | params | English message |"
if not table:
    print("docs/error-codes.md is up to date")
    sys.exit(0)
if head in s:
    i = s.index(head)
    j = s.find("\n\n", i)
    s = s[:i] + table.rstrip("\n") + ("\n" if j < 0 else s[j:])
else:
    s = s.rstrip("\n") + "\n\n" + table.rstrip("\n") + "\n"
open(p, "w").write(s)
print("docs/error-codes.md rewritten")
PY
