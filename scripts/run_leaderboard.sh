#!/usr/bin/env bash
# The committed leaderboard: every built-in generator and calibration row × Sines, Stocks, Energy, ETTh1 × 3 seeds ×
# every metric, preset quick, under timegan2019 and tsbench, on a clean checkout, then results/ regenerated.
#   bash scripts/run_leaderboard.sh RUN_FOLDER [DATA_DIR]
# RUN_FOLDER must be new or a folder from the same command (finished cells are reused); DATA_DIR holds local
# copies of the dataset files (default ../shared/data). The encoder cache is kept inside RUN_FOLDER so that the
# wall time is that of a cold start.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash scripts/run_leaderboard.sh RUN_FOLDER [DATA_DIR]}
data=${2:-../shared/data}
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "run_leaderboard: the checkout has uncommitted changes; the records must name one commit" >&2
    exit 2
fi
export TSBENCH_CACHE="$out/cache"
for protocol in timegan2019 tsbench; do
    tsbench run --all -d sines -d stocks -d energy -d etth1 --preset quick --seeds 3 --jobs 2 --protocol "$protocol" \
        --out "$out" --data-dir "$data" --no-progress --device cpu
done
tsbench table --out "$out" --format records --output results/records.csv
tsbench table --records results/records.csv --results-dir results
tsbench table --out "$out" --format html --output "$out/report.html"  # several MB of figures: not committed
