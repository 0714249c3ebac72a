#!/usr/bin/env bash
# One GPU-machine command: generates the training data there (the carried Node binary runs the bundled
# `gemxrf dataset` writer in parallel shards), then trains the models concurrently on the one GPU.
# Prepare here first (bash training/device/prepare.sh), then run from the repository root with .gpu carried:
#
#   OUT=... bash training/device/run.sh        # the device tool sets OUT; everything else has a default
#
# Knobs (environment):
#   MIN        training minutes per model; default auto: what is left of DEADLINE_S after generation,
#              minus RESERVE_S for loading, final evaluation and the summary
#   DEADLINE_S whole run in about this many seconds when MIN=auto (default 560: one command runs <= 600 s)
#   RESERVE_S  seconds kept for what is not the training loop (default 60)
#   TRAIN_N    nominal training spectra (default 4000000), in shards of ~SHARD_N (default 50000), seeds 100-199
#   DRIFT_N    drift-shift training spectra (default 800000), shards with seeds 200-299
#   VAL_N      validation spectra (default 20000, seed 300); TEST_N test spectra (default 20000, seed 301)
#   ARCHS      models to train, concurrently (default "lt-vit vit cnn")
#   JOBS       generator processes (default nproc); GEN_MAX_S: generation stops after this many seconds
#              (default 120) and training uses the shards finished by then (val and test must be)
#   DEVICE     cuda (default) | cpu; PYTHON: interpreter with torch (default: the first of python3,
#              /usr/bin/python3 that imports torch); DATA: dataset folder (default /tmp/gemxrf-data)
#   TRAIN_FLAGS extra train.py flags for every model (e.g. "--lr 3e-3")
#
# Seeds are fixed so a card says exactly what a model saw: nominal 100-199, drift 200-299, validation 300,
# test 301. Never 1000/1001/2000 (the evaluation seeds in docs/models.md), never below 10.
# Writes to $OUT: <arch>.pt (best checkpoint, rewritten at every improvement, so a killed run still leaves
# one), <arch>.log, run.log. Export here afterwards: bash training/device/export-all.sh DIR_WITH_PT.
set -uo pipefail
cd "$(dirname "$0")/../.."
T0=$(date +%s.%N)
: "${OUT:?set OUT to the folder for checkpoints and logs}"
MIN=${MIN:-auto}
DEADLINE_S=${DEADLINE_S:-560}
RESERVE_S=${RESERVE_S:-60}
TRAIN_N=${TRAIN_N:-4000000}
DRIFT_N=${DRIFT_N:-800000}
VAL_N=${VAL_N:-20000}
TEST_N=${TEST_N:-20000}
SHARD_N=${SHARD_N:-50000}
ARCHS=${ARCHS:-"lt-vit vit cnn"}
JOBS=${JOBS:-$(nproc)}
GEN_MAX_S=${GEN_MAX_S:-120}
DEVICE=${DEVICE:-cuda}
DATA=${DATA:-/tmp/gemxrf-data}
TRAIN_FLAGS=${TRAIN_FLAGS:-}
NOMINAL_SEED0=100 DRIFT_SEED0=200 VAL_SEED=300 TEST_SEED=301 MAX_SHARDS=100

mkdir -p "$OUT" "$DATA"
exec > >(tee -a "$OUT/run.log") 2>&1
since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }
die() { echo "run: $*"; exit 1; }

for c in xargs timeout awk nproc tee grep; do command -v "$c" >/dev/null || die "'$c' is missing on this machine"; done
echo "run: $(date -u +%FT%TZ) on $(hostname 2>/dev/null || cat /etc/hostname) ($(uname -m)), $(nproc) cores, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
command -v nvidia-smi >/dev/null && nvidia-smi -L

# --- Python with torch
PY=""
for c in ${PYTHON:-} python3 /usr/bin/python3; do
  if "$c" -c 'import torch, numpy' 2>/dev/null; then PY=$c; break; fi
done
[ -n "$PY" ] || die "no python3 with torch and numpy found (set PYTHON)"
echo "run: $PY, torch $("$PY" -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "no cuda")')"

# --- Node: the carried binary, decompressed once per machine (xz, or Python's lzma where xz is missing)
[ -f .gpu/node.xz ] && [ -f .gpu/generate.mjs ] || die ".gpu/ is missing: run training/device/prepare.sh and carry .gpu"
NODE_DIR=${NODE_DIR:-/tmp/gemxrf-node}
NODE=$NODE_DIR/node
want=$(cat .gpu/node.sha256)
sha() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else "$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; fi; }
if [ ! -x "$NODE" ] || [ "$(sha "$NODE")" != "$want" ]; then
  t=$(date +%s.%N)
  mkdir -p "$NODE_DIR"
  if command -v xz >/dev/null; then xz -dc .gpu/node.xz > "$NODE.tmp"
  else "$PY" -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"), 1<<20)' .gpu/node.xz "$NODE.tmp"; fi
  [ "$(sha "$NODE.tmp")" = "$want" ] || die "decompressed node does not match .gpu/node.sha256"
  chmod +x "$NODE.tmp" && mv "$NODE.tmp" "$NODE"
  echo "run: node decompressed in $(since "$t") s"
fi
"$NODE" --version >/dev/null || die "the carried node does not run here (needs GLIBC >= 2.28)"
echo "run: node $("$NODE" --version)"

# --- plan the shards: "dir n seed shift" per line; big drift shards (slower per spectrum) first
plan() {  # total shards-wanted seed0 shift prefix
  local total=$1 k=$2 seed0=$3 shift=$4 prefix=$5 i n
  [ "$total" -gt 0 ] || return 0
  [ "$k" -gt "$total" ] && k=$total
  for ((i = 0; i < k; i++)); do
    n=$(( total / k + (i < total % k ? 1 : 0) ))
    echo "$DATA/$prefix-$((seed0 + i)) $n $((seed0 + i)) $shift"
  done
}
shards() {  # how many shards for a total: ~SHARD_N each, at least JOBS, at most MAX_SHARDS (the seed range)
  local k=$(( ($1 + SHARD_N - 1) / SHARD_N ))
  [ "$k" -lt "$JOBS" ] && k=$JOBS
  [ "$k" -gt "$MAX_SHARDS" ] && k=$MAX_SHARDS
  echo "$k"
}
PLAN=$( { plan "$VAL_N" 1 $VAL_SEED nominal val; plan "$TEST_N" 1 $TEST_SEED nominal test
          plan "$DRIFT_N" "$(shards "$DRIFT_N")" $DRIFT_SEED0 drift drift
          plan "$TRAIN_N" "$(shards "$TRAIN_N")" $NOMINAL_SEED0 nominal nominal; } )
done_already() {  # a complete shard from an earlier run on this (warm) machine with the same n, seed, shift
  local m=$1/meta.json
  [ -f "$m" ] && grep -q "^  \"n\": $2,$" "$m" && grep -q "^  \"seed\": $3,$" "$m" && grep -q "^  \"shift\": \"$4\",$" "$m"
}
TODO=$(while read -r dir n seed shift; do done_already "$dir" "$n" "$seed" "$shift" || echo "--out $dir --n $n --seed $seed --shift $shift"; done <<< "$PLAN")
echo "run: $(wc -l <<< "$PLAN") shards planned ($TRAIN_N nominal + $DRIFT_N drift training, $VAL_N val, $TEST_N test), $(grep -c . <<< "$TODO") to generate with $JOBS processes"

# --- generate (timeout signals the whole process group: xargs and every node it started)
t=$(date +%s.%N)
if [ -n "$TODO" ]; then
  grep . <<< "$TODO" | timeout "$GEN_MAX_S" xargs -P "$JOBS" -L 1 "$NODE" .gpu/generate.mjs > "$DATA/generate.log" 2>&1
  rc=$?
  [ $rc -eq 124 ] && echo "run: generation stopped at GEN_MAX_S=$GEN_MAX_S s; training on the shards finished by then"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && { echo "run: a generator failed (xargs rc $rc):"; grep -v '^wrote' "$DATA/generate.log" | head -20; }
fi
GEN_S=$(since "$t")
# finished training shards, nominal first: the first part's seed and recipe head the card (datasets.train.seed,
# generator), as seed 1 did for the shipped models; the drift shards follow
TRAIN_DIRS="" GOT=0 DROPPED=0
for want_shift in nominal drift; do
  while read -r dir n seed shift; do
    [ "$shift" = "$want_shift" ] && [ "$seed" != $VAL_SEED ] && [ "$seed" != $TEST_SEED ] || continue
    if done_already "$dir" "$n" "$seed" "$shift"; then TRAIN_DIRS+="${TRAIN_DIRS:+,}$dir"; GOT=$((GOT + n)); else DROPPED=$((DROPPED + n)); fi
  done <<< "$PLAN"
done
VAL_DIR=$DATA/val-$VAL_SEED TEST_DIR=$DATA/test-$TEST_SEED
[ -f "$VAL_DIR/meta.json" ] && [ -f "$TEST_DIR/meta.json" ] || die "validation or test set missing after generation"
[ -n "$TRAIN_DIRS" ] || die "no training shard finished"
awk -v s="$GEN_S" -v got="$GOT" -v dropped="$DROPPED" '
  /^wrote/ { for (i = 1; i <= NF; i++) if ($i == "(shift") sh = $(i + 1); sub(/,$/, "", sh); r = $(NF - 1); sub(/^\(/, "", r); rate[sh] += r; cnt[sh]++ }
  END { printf "run: generated in %s s: %d training spectra ready, %d dropped;", s, got, dropped
        for (k in rate) printf " %s %.0f spectra/s per process (%d shards);", k, rate[k] / cnt[k], cnt[k]; print "" }' "$DATA/generate.log"

# --- train the models concurrently on one device
n_archs=$(wc -w <<< "$ARCHS")
if [ "$MIN" = auto ]; then
  MIN=$(awk -v d="$DEADLINE_S" -v r="$RESERVE_S" -v e="$(since "$T0")" 'BEGIN { m = (d - r - e) / 60; printf "%.2f", (m < 0.5 ? 0.5 : m) }')
fi
# each run may preload its training set to the GPU if it takes under this share of the free memory
PRELOAD=$(awk -v k="$n_archs" 'BEGIN { printf "%.3f", 0.75 / k }')
THREADS=$(( $(nproc) / n_archs )); [ "$THREADS" -lt 1 ] && THREADS=1
echo "run: training $ARCHS for $MIN min each on $DEVICE (started at $(since "$T0") s)"
t=$(date +%s.%N)
pids=()
for a in $ARCHS; do
  # shellcheck disable=SC2086
  "$PY" -W ignore training/train.py --arch "$a" --data "$TRAIN_DIRS" --val-data "$VAL_DIR" --test-data "$TEST_DIR" \
    --out "$OUT/$a" --minutes "$MIN" --batch-size 4096 --device "$DEVICE" --eval-every 200 --max-eval 20000 \
    --patience 1000 --no-export --preload-fraction "$PRELOAD" --threads "$THREADS" $TRAIN_FLAGS > "$OUT/$a.log" 2>&1 &
  pids+=($!)
done
fail=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail=1; done
echo "run: training done in $(since "$t") s (whole run $(since "$T0") s)"
[ $fail -eq 0 ] || for a in $ARCHS; do echo "--- $a.log (tail)"; tail -n 5 "$OUT/$a.log"; done
"$PY" training/device/summary.py "$OUT" $ARCHS
exit $fail
