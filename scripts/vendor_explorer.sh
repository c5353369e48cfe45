#!/usr/bin/env bash
# Re-fetch the explorer's map library at the pinned versions with `npm pack` into app/web/static/explorer/
# and check each file against the sha256 recorded below (and in app/web/static/explorer/README.md).
# To upgrade: change a version, run with UPDATE=1 to print the new digests, review, then record them.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=app/web/static/explorer

D3_GEO=3.1.2
D3_ARRAY=3.2.5

# destination file | package@version | path inside the package | sha256
FILES="
d3-geo.min.js|d3-geo@$D3_GEO|dist/d3-geo.min.js|1ea4c9608d0998f6468df3ab313c473bebbe81ba2c542a456b49db90e3672f89
LICENSE.d3-geo|d3-geo@$D3_GEO|LICENSE|3ded44a2c7935c8f5236f0543069406fdf7256b61b9eaeaddd007e80f19bc959
d3-array.min.js|d3-array@$D3_ARRAY|dist/d3-array.min.js|468f7b9ed38d6322083da4d5ae9fa57d47784f964f16dcff96e413d16cc8f9d9
LICENSE.d3-array|d3-array@$D3_ARRAY|LICENSE|2a6d2d5f32ba0b755ddbc1c833f766e30cdbe6ebe9a6d4e3e24427721f0b63d3
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
echo "vendored into $DEST: d3-geo@$D3_GEO d3-array@$D3_ARRAY"
