#!/usr/bin/env bash
# Runs every Fuzz* target in the module for DURATION each (default 20s).
#   scripts/fuzz.sh 5s      # what `make test` runs (fuzz-short)
#   scripts/fuzz.sh 10m     # a longer hunt; new crashers land in testdata/fuzz/
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-20s}"
GO="${GO:-go}"
# `go test -list` prints the matching names, then "ok <package> ..." for
# each package: pair every name with the package line that follows it.
mapfile -t targets < <("$GO" test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names[n++] = $1; next }
	/^ok / { for (i = 0; i < n; i++) print $2 " " names[i]; n = 0 }')
if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz: no Fuzz targets found" >&2
	exit 1
fi
for t in "${targets[@]}"; do
	pkg="${t% *}"
	name="${t#* }"
	echo "fuzz: $pkg $name for $dur"
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$dur" "$pkg"
done
