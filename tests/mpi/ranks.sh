#!/usr/bin/env bash
# ranks.sh: the fitted model and the whole history are bitwise identical on 1, 2, 3, 4 and 7
# ranks (exact block reductions), including shards that hold no block at all.
set -euo pipefail
nvmm=$1 work=$2
mkdir -p "$work"
cd "$work"
rm -f gh.h5 ranks*.json m*.h5
mpirun -n 3 "$nvmm" sample --family gh --d 4 --mu 0.1,0.2,-0.3,0 --gamma 0.3,-0.2,0.1,0.05 \
  --sigma 1,0.2,0.1,0,0.2,1,0.3,0.1,0.1,0.3,1,0.2,0,0.1,0.2,1 --sub -1.5,1.2,2.0 \
  --n 24000 --seed 11 --out gh.h5 > /dev/null
strip() { grep -v -E '"(ranks|elapsed_s)"' "$1"; }
dump() { h5dump -m %.17g -d "$2" "$1" | tail -n +3; }
# block_rows 2048: 12 blocks, so 7 ranks hold 1 or 2 blocks each.
for np in 1 2 3 4 7; do
  mpirun -n $np "$nvmm" fit --data gh.h5 --family gh --tol 1e-7 --max-iter 300 \
    --block-rows 2048 --out m$np.h5 --json 1 --verbose 0 > ranks$np.json
  if [ $np -gt 1 ]; then
    diff <(strip ranks1.json) <(strip ranks$np.json)
    for ds in /history/loglik /history/param_change /history/counters /sigma /gig_p; do
      cmp <(dump m1.h5 $ds) <(dump m$np.h5 $ds)
    done
  fi
done
grep -q '"converged": true' ranks1.json
# More ranks than blocks: 24000 rows in blocks of 20000 on 7 ranks leaves 5 ranks empty.
mpirun -n 7 "$nvmm" fit --data gh.h5 --family nig --max-iter 50 --block-rows 20000 \
  --out e7.h5 --json 1 --verbose 0 > empty7.json
mpirun -n 1 "$nvmm" fit --data gh.h5 --family nig --max-iter 50 --block-rows 20000 \
  --out e1b.h5 --json 1 --verbose 0 > empty1b.json
diff <(strip empty1b.json) <(strip empty7.json)
echo "identical on 1, 2, 3, 4 and 7 ranks"
