#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reproduces the study in docs/results.md: plain BN and OABN on the small RepVGG
# preset and Fashion-MNIST, each at fp32 and quantized with uniform PTQ, uniform QAT
# and ClusterQAT at 8, 4, 3 and 2 bits, plus ClusterQAT on OABN at 1 bit. Every
# accuracy in the table comes from `repvk eval` running the exported model on Vulkan.
#
#   tools/reproduce/reproduce.sh [--out DIR] [--threads N] [--reverse] [--no-docs] [--budget-sweep]
#
# Each cell lives in its own folder under DIR (default runs/reproduce). A cell whose
# result is there is skipped; a cell that was interrupted resumes from its
# checkpoint. Running the script again after a stop continues where it stopped.
# Several copies may share one DIR (say one per core, `--threads 1` each, one of
# them with --reverse): a cell being worked on is locked (DIR/<cell>.lock holds the
# owner's PID) and the others pass it by.
#
# The budget sweep (mixed per-layer widths, OABN, ClusterQAT) follows the grid: one
# sensitivity table (oabn/sensitivity, measured on the held-out images), then one cell
# per mean width in BUDGETS (oabn/mixed-bpw<X>) and one per file size in KIB_BUDGETS
# (oabn/mixed-kib<K>; the default is uniform 2-bit's 174,700 bytes). --budget-sweep runs only the OABN
# base, the table and those cells; without tuning cells in DIR the fine-tuning rate is
# CLUSTER_LR (default 0.001, the study's choice for ClusterQAT). With BASE_MODEL=FILE
# (a .rpvk holding the fp32 OABN network, e.g. assets/models/oabn-fp32.rpvk) the sweep
# starts from that network instead of DIR/oabn/fp32's checkpoint and trains no base.
#
# Sizes (chosen to fit the 3-hour budget on a 2-core machine; see docs/results.md):
#   EPOCHS=10     full training of each base network (55,000 images per epoch)
#   FT_EPOCHS=2   fine-tuning of every QAT and ClusterQAT cell
#   VAL=5000      training images held out; the fine-tuning learning rate is chosen
#                 on them (TUNE_LRS), never on the test set
#   SEED=1
#   BUDGETS="1.25 1.5 2 3"   mean bits per weight of the budget sweep
#   KIB_BUDGETS="170.6"      whole-file budgets (KiB) of the budget sweep
# All of them can be overridden from the environment.
set -euo pipefail

main() {
  local root out threads docs=1 reverse=0 sweep_only=0
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  out="$root/runs/reproduce"
  threads=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --out) out="$2"; shift 2 ;;
      --threads) threads="$2"; shift 2 ;;
      --no-docs) docs=0; shift ;;
      --reverse) reverse=1; shift ;;
      --budget-sweep) sweep_only=1; shift ;;
      -h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      *) echo "reproduce.sh: unknown argument '$1' (see --help)" >&2; return 2 ;;
    esac
  done
  local EPOCHS="${EPOCHS:-10}" FT_EPOCHS="${FT_EPOCHS:-2}" VAL="${VAL:-5000}" SEED="${SEED:-1}"
  local TUNE_LRS="${TUNE_LRS:-0.01 0.001}" BUDGETS="${BUDGETS:-1.25 1.5 2 3}"
  local KIB_BUDGETS="${KIB_BUDGETS-170.6}"
  local CLUSTER_LR="${CLUSTER_LR:-0.001}" BASE_MODEL="${BASE_MODEL:-}"
  if [[ -n "$BASE_MODEL" ]]; then
    [[ $sweep_only == 1 ]] || { echo "reproduce.sh: BASE_MODEL applies to --budget-sweep only" >&2; return 2; }
    [[ -f "$BASE_MODEL" ]] || { echo "reproduce.sh: BASE_MODEL '$BASE_MODEL' does not exist" >&2; return 2; }
    BASE_MODEL="$(cd "$(dirname "$BASE_MODEL")" && pwd)/$(basename "$BASE_MODEL")"
  fi
  # Seconds between looks at a lock held by another copy (the tests shorten it).
  local POLL="${REPRODUCE_POLL_SECONDS:-30}"
  local build="${REPVK_BUILD_DIR:-$root/build}"
  local train="$build/tools/train/repvk-train" repvk="$build/tools/cli/repvk"
  for exe in "$train" "$repvk"; do
    [[ -x "$exe" ]] || { echo "reproduce.sh: $exe is missing; run ./scripts/build.sh first" >&2; return 2; }
  done
  [[ "$threads" =~ ^[0-9]+$ ]] || { echo "reproduce.sh: --threads '$threads' is not a number" >&2; return 2; }
  local thr=()
  if [[ "$threads" != 0 ]]; then thr=(--threads "$threads"); fi
  mkdir -p "$out"
  local start=$SECONDS
  echo "reproduce: results in $out (epochs $EPOCHS, fine-tuning $FT_EPOCHS, val $VAL, seed $SEED)"

  # Cells in run order. base: the two fp32 networks; tune: the learning-rate choice;
  # then the grid. Fields: folder kind norm method bits.
  local cells=() lr m b n
  if [[ $sweep_only == 1 ]]; then
    [[ -n "$BASE_MODEL" ]] || cells=("oabn/fp32 train oabn - -")
  else
    cells=("bn/fp32 train bn - -" "oabn/fp32 train oabn - -")
    for m in qat cluster; do
      for lr in $TUNE_LRS; do cells+=("tune/$m-lr$lr tune oabn $m 3"); done
    done
  fi
  # The budget sweep's table; its cells come after the grid.
  cells+=("oabn/sensitivity sens oabn cluster -")
  if [[ $sweep_only == 0 ]]; then
    for n in bn oabn; do
      for m in ptq qat cluster; do
        for b in 8 4 3 2; do cells+=("$n/$m$b quant $n $m $b"); done
      done
    done
    cells+=("oabn/cluster1 quant oabn cluster 1")
  fi
  for b in $BUDGETS; do cells+=("oabn/mixed-bpw$b quant oabn mixed $b"); done
  for b in $KIB_BUDGETS; do cells+=("oabn/mixed-kib$b quant oabn mixed-kib $b"); done

  if [[ $reverse == 1 ]]; then
    # The base networks and the tuning cells stay first: every grid cell needs them.
    local first=0 c
    for c in "${cells[@]}"; do [[ "$c" == *" quant "* ]] || first=$((first + 1)); done
    local rest=("${cells[@]:$first}") i
    cells=("${cells[@]:0:$first}")
    for ((i = ${#rest[@]} - 1; i >= 0; i--)); do cells+=("${rest[$i]}"); done
  fi
  # Where the budget sweep starts: the OABN base's checkpoint, or BASE_MODEL.
  local base_src=(--checkpoint "$out/oabn/fp32/checkpoint.pt")
  [[ -n "$BASE_MODEL" ]] && base_src=(--model "$BASE_MODEL")
  local total=${#cells[@]} k=0 cell dir kind norm method bits resume
  for cell in "${cells[@]}"; do
    k=$((k + 1))
    read -r dir kind norm method bits <<<"$cell"
    local d="$out/$dir" marker=result.json
    [[ $kind == sens ]] && marker=sensitivity.json
    if [[ -f "$d/$marker" ]]; then
      echo "[$k/$total] $dir: done"
      continue
    fi
    if ! take_lock "$d.lock"; then
      if [[ $kind != quant ]]; then
        # The grid needs the base networks and the tuning cells: wait for their owner.
        echo "[$k/$total] $dir: being trained by PID $(cat "$d.lock/pid" 2>/dev/null); waiting"
        while [[ ! -f "$d/$marker" ]] && ! take_lock "$d.lock"; do sleep "$POLL"; done
        [[ -f "$d/$marker" ]] && { release_lock "$d.lock"; continue; }
      else
        echo "[$k/$total] $dir: being worked on by PID $(cat "$d.lock/pid" 2>/dev/null); skipped"
        continue
      fi
    fi
    trap 'release_lock "'"$d"'.lock"' EXIT
    printf '[%d/%d] %s  (%s elapsed)\n' "$k" "$total" "$dir" "$(elapsed $start)"
    mkdir -p "$d"
    resume=()
    case "$kind" in
      train)
        [[ -f "$d/checkpoint.pt" ]] && resume=(--resume)
        "$train" train --preset small --norm "$norm" --epochs "$EPOCHS" --batch 128 --lr 0.1 \
          --seed "$SEED" --val "$VAL" "${thr[@]}" --out "$d" --export "$d/model.rpvk" "${resume[@]}"
        # Both histograms show the layer where plain BN's outliers are worst.
        "$train" report --checkpoint "$d/checkpoint.pt" "${thr[@]}" --histogram "$d/histogram.tsv" \
          --layer "$(worst_layer "$out/bn/fp32/outliers.json" "$d/outliers.json")" >/dev/null
        ;;
      sens)
        # Measured once on the held-out images; every budget cell reuses it.
        "$train" quantize "${base_src[@]}" --method cluster \
          --sensitivity-only --seed "$SEED" "${thr[@]}" --out "$d" --sensitivity "$d/sensitivity.json"
        ;;
      quant)
        [[ -f "$d/quant-checkpoint.pt" ]] && resume=(--resume)
        if [[ "$method" == mixed* ]]; then
          local budget_flag=--budget-bits-per-weight
          [[ "$method" == mixed-kib ]] && budget_flag=--budget-kib
          "$train" quantize "${base_src[@]}" --method cluster \
            "$budget_flag" "$bits" --epochs "$FT_EPOCHS" \
            --lr "$(best_lr "$out" cluster "$TUNE_LRS" "$CLUSTER_LR")" --seed "$SEED" "${thr[@]}" \
            --sensitivity "$out/$norm/sensitivity/sensitivity.json" \
            --out "$d" --export "$d/model.rpvk" "${resume[@]}"
        else
          quantize_cell
        fi
        ;;
      tune)
        [[ -f "$d/quant-checkpoint.pt" ]] && resume=(--resume)
        quantize_cell
        ;;
    esac
    release_lock "$d.lock"
    trap - EXIT
  done

  # Every exported model goes through the engine on Vulkan: those are the table's figures.
  local models=() f sort_order=()
  [[ $reverse == 1 ]] && sort_order=(-r)
  while IFS= read -r f; do models+=("$f"); done < <(find "$out" -path "$out/tune" -prune -o -name model.rpvk -print | sort "${sort_order[@]}")
  k=0
  for f in "${models[@]}"; do
    k=$((k + 1))
    local d
    d="$(dirname "$f")"
    [[ -f "$d/engine.json" && "$d/engine.json" -nt "$f" ]] && continue
    # A second copy (--reverse) evaluates from the other end; the lock keeps them apart.
    take_lock "$d.eval.lock" || continue
    trap 'release_lock "'"$d"'.eval.lock"' EXIT
    if [[ -f "$d/engine.json" && "$d/engine.json" -nt "$f" ]]; then
      # The other copy finished it between the check above and the lock.
      release_lock "$d.eval.lock"
      trap - EXIT
      continue
    fi
    printf '[eval %d/%d] %s  (%s elapsed)\n' "$k" "${#models[@]}" "${d#"$out"/}" "$(elapsed $start)"
    "$repvk" eval "$f" --batch 256 --json --progress >"$d/engine.json.tmp.$$"
    mv "$d/engine.json.tmp.$$" "$d/engine.json"
    release_lock "$d.eval.lock"
    trap - EXIT
  done
  # The copy that finishes first waits for the other's evaluations, so the table is whole.
  local waited=0
  while compgen -G "$out/*/*.eval.lock" >/dev/null; do
    [[ $waited == 0 ]] && echo "reproduce: waiting for the other copy's evaluations"
    waited=1
    sleep "$POLL"
    for f in "$out"/*/*.eval.lock; do take_lock "$f" && release_lock "$f"; done 2>/dev/null
  done

  local collect_args=(--runs "$out" --elapsed "$((SECONDS - start))"
                      --settings "epochs=$EPOCHS ft_epochs=$FT_EPOCHS val=$VAL seed=$SEED tune_lrs=$TUNE_LRS")
  [[ $docs == 1 ]] && collect_args+=(--docs "$root/docs")
  python3 "$root/tools/reproduce/collect.py" "${collect_args[@]}"
  echo "reproduce: finished in $(elapsed $start)"
}

# A uniform cell (tuning or grid): the variables are main's (bash scoping is dynamic).
quantize_cell() {
  local lr_flag epochs=$FT_EPOCHS
  if [[ "$kind" == tune ]]; then
    lr_flag="${dir##*-lr}"
    epochs=1
  elif [[ "$method" == ptq ]]; then
    lr_flag=0.01
  else
    lr_flag="$(best_lr "$out" "$method" "$TUNE_LRS")"
  fi
  "$train" quantize --checkpoint "$out/$norm/fp32/checkpoint.pt" --method "$method" \
    --bits "$bits" --first-last-bits 8 --epochs "$epochs" --lr "$lr_flag" --seed "$SEED" \
    "${thr[@]}" --out "$d" --export "$d/model.rpvk" "${resume[@]}"
}

# A cell's lock: a folder (mkdir is atomic) holding the owner's PID. A lock whose
# owner is gone (the session ended, the machine rebooted) is taken over.
take_lock() {
  local lock="$1" pid
  mkdir -p "$(dirname "$lock")"
  if mkdir "$lock" 2>/dev/null; then echo $$ >"$lock/pid"; return 0; fi
  pid="$(cat "$lock/pid" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then return 1; fi
  echo $$ >"$lock/pid"
  return 0
}
release_lock() { rm -rf "$1"; }

elapsed() { local s=$((SECONDS - $1)); printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60)); }

# The worst layer of the first outliers.json given that exists (plain BN's, else the cell's own).
worst_layer() {
  python3 -c 'import json,os,sys; f=next(p for p in sys.argv[1:] if os.path.exists(p)); L=json.load(open(f))["layers"]; print(max(L, key=lambda l: l["max_abs_over_std"])["name"])' "$@"
}

# The tuning cell with the best validation accuracy for `method` gives its learning
# rate; without tuning cells (--budget-sweep), the fallback (4th argument) if given.
best_lr() {
  local out="$1" method="$2" lrs="$3" fallback="${4:-}"
  if [[ -n "$fallback" && ! -d "$out/tune" ]]; then echo "$fallback"; return; fi
  python3 - "$out" "$method" $lrs <<'EOF'
import json, sys
out, method, lrs = sys.argv[1], sys.argv[2], sys.argv[3:]
best = max(lrs, key=lambda lr: json.load(open(f"{out}/tune/{method}-lr{lr}/result.json"))["val_accuracy"])
print(best)
EOF
}

# Defining everything in functions first means an edit to this file cannot change a
# run that is already going: bash has parsed main before it starts.
main "$@"
