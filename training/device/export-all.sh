#!/usr/bin/env bash
# After a GPU run (training/device/run.sh): exports each checkpoint to ONNX + model card, here.
#
#   bash training/device/export-all.sh FROM [TO]     # FROM: the folder with <arch>.pt (the device's $OUT
#                                                    # files); TO: default models/ (writes TO/<arch>.onnx/.json)
# ARCHS (default "lt-vit vit cnn") picks the models; PYTHON the interpreter (default: the first of python3,
# /usr/bin/python3 that imports torch and onnx). The card's training block comes from the checkpoint as
# train.py wrote it: datasetSeeds (every shard, validation and test seed), datasets (with each split's
# parts) and trainingParts (seed, n, shift per training shard); this script checks they are there.
set -euo pipefail
cd "$(dirname "$0")/../.."
FROM=${1:?usage: export-all.sh FROM [TO]}
TO=${2:-models}
ARCHS=${ARCHS:-"lt-vit vit cnn"}
PY=""
for c in ${PYTHON:-} python3 /usr/bin/python3; do
  if "$c" -c 'import torch, onnx' 2>/dev/null; then PY=$c; break; fi
done
[ -n "$PY" ] || { echo "export-all: no python3 with torch and onnx (set PYTHON)" >&2; exit 1; }
mkdir -p "$TO"
for a in $ARCHS; do
  [ -f "$FROM/$a.pt" ] || { echo "export-all: $FROM/$a.pt missing" >&2; exit 1; }
  "$PY" -W ignore training/export.py --checkpoint "$FROM/$a.pt" --out "$TO/$a" >/dev/null
  "$PY" - "$TO/$a.json" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
t, m = card["training"], card["metrics"]
parts = t.get("trainingParts")
assert parts and all({"seed", "n", "shift"} <= set(p) for p in parts), "card has no trainingParts"
seeds = set(t["datasetSeeds"])
assert {p["seed"] for p in parts} <= seeds, "a training part's seed is missing from datasetSeeds"
assert not seeds & {1000, 1001, 2000}, "an evaluation seed was used for training"
test = m.get("test")
score = f"test R2 {test['r2']:.4f}, macro-F1 {test['macroF1']:.4f}" if test else "NO TEST METRICS (run stopped early)"
print(f"{sys.argv[1]}: {len(parts)} training parts, {sum(p['n'] for p in parts)} spectra, seeds {sorted(seeds)[0]}..{sorted(seeds)[-1]}; {score}")
PY
done
echo "export-all: check them with e.g. node bin/gemxrf.js eval --model $TO/${ARCHS%% *}.onnx -n 5000 --seed 1000"
