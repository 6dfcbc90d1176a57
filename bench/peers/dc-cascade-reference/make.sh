#!/usr/bin/env bash
# Regenerates the SciPy peer's reference cascades that engine/power/cascade.test.ts checks against:
#   bash bench/peers/dc-cascade-reference/make.sh [GRIDS_DIR]
# Each output: {case, trigger, runs, seed, ratingFactor, results: [...]} (see scipy_dc_cascade.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
grids="${1:-}"
if [ -z "$grids" ]; then
  for up in .. ../..; do [ -d "$root/$up/shared/data/grids" ] && grids="$root/$up/shared/data/grids" && break; done
fi
run() { # case trigger runs seed K
  local name="$1-$2-$3-seed$4-K$5"
  npx tsx "$root/bench/peers/write_dc_triggers.ts" "$grids/$1.m" "$2" "$3" "$4" "/tmp/$name.triggers.json"
  python3 "$root/bench/peers/scipy_dc_cascade.py" "$grids/$1.m" "/tmp/$name.triggers.json" "$5" \
    | python3 -c "import json,sys; r=json.load(sys.stdin); json.dump({'case':'$1','trigger':'$2','runs':$3,'seed':$4,'ratingFactor':$5,'results':r['results']}, sys.stdout)" \
    > "$here/$name.json"
  echo "wrote $name.json" >&2
}
run case1354pegase random-pairs 40 1 0.8
run case1354pegase random-singles 40 2 0.6
run case_ACTIVSg2000 random-pairs 20 3 0.7
run case118 random-pairs 20 4 1
