#!/usr/bin/env bash
# Re-fetch GraphiQL's browser assets at the pinned versions with `npm pack` into app/web/static/graphiql/
# and check each file against the sha256 recorded below (and in app/web/static/graphiql/README.md).
# To upgrade: change a version, run with UPDATE=1 to print the new digests, review, then record them.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=app/web/static/graphiql

GRAPHIQL=3.8.3
REACT=18.3.1
REACT_DOM=18.3.1

# destination file | package@version | path inside the package | sha256
FILES="
graphiql.min.js|graphiql@$GRAPHIQL|graphiql.min.js|22faab94067b695e5f7959619fbe686ebcc8955002a0c97d986bcbba4ad4bc2c
graphiql.min.css|graphiql@$GRAPHIQL|graphiql.min.css|b1868247f8e0502cd869e581f5f3cb55b334862e7f51b1d6cbace11059b9adc2
LICENSE.graphiql|graphiql@$GRAPHIQL|LICENSE|4b18fbe55c4e8f9169cb702be138f4d858a2dad920c39857204ffdc9c1c9fdc4
react.production.min.js|react@$REACT|umd/react.production.min.js|d949f1c3687aedadcedac85261865f29b17cd273997e7f6b2bfc53b2f9d4c4dd
LICENSE.react|react@$REACT|LICENSE|52412d7bc7ce4157ea628bbaacb8829e0a9cb3c58f57f99176126bc8cf2bfc85
react-dom.production.min.js|react-dom@$REACT_DOM|umd/react-dom.production.min.js|35f4f974f4b2bcd44da73963347f8952e341f83909e4498227d4e26b98f66f0d
LICENSE.react-dom|react-dom@$REACT_DOM|LICENSE|52412d7bc7ce4157ea628bbaacb8829e0a9cb3c58f57f99176126bc8cf2bfc85
"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=0
while IFS='|' read -r dest package inner digest; do
    [ -n "$dest" ] || continue
    unpacked="$work/${package//[@\/]/_}"
    if [ ! -d "$unpacked" ]; then
        mkdir -p "$unpacked"
        tarball=$(cd "$work" && npm pack --silent "$package" | tail -n 1)
        tar -xzf "$work/$tarball" -C "$unpacked"
    fi
    actual=$(sha256sum "$unpacked/package/$inner" | cut -d ' ' -f 1)
    if [ "${UPDATE:-0}" = 1 ]; then
        echo "$dest $package $inner $actual"
    elif [ "$actual" != "$digest" ]; then
        echo "sha256 mismatch for $package $inner: expected $digest, got $actual" >&2
        failed=1
        continue
    fi
    cp "$unpacked/package/$inner" "$DEST/$dest"
done <<< "$FILES"

if [ "$failed" = 1 ]; then
    echo "not all files verified; the mismatching ones were not copied" >&2
    exit 1
fi
echo "vendored into $DEST: graphiql@$GRAPHIQL react@$REACT react-dom@$REACT_DOM"
