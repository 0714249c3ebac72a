"""One line per trained model from train.py checkpoints (OUT/<arch>.pt): what run.sh prints at the end.

    python3 training/device/summary.py OUT [ARCH ...]      (default archs: lt-vit vit cnn)
"""
import os
import sys

import torch


def line(path: str) -> str:
    ck = torch.load(path, map_location="cpu", weights_only=False)  # our own file; holds plain Python values too
    t, m = ck["training"], ck["metrics"]
    parts = t.get("trainingParts") or []
    shifts = {}
    for p in parts:
        shifts[p["shift"]] = shifts.get(p["shift"], 0) + p["n"]
    data = " + ".join(f"{n} {s}" for s, n in shifts.items()) or str(t.get("n"))
    head = (f"{ck['arch']}: {t['steps']} steps ({t['epochs']} epochs of {data} in {len(parts)} parts), best step "
            f"{t['bestStep']}, stopped by {t['stoppedBy']} after {t['minutes']} min")
    if m.get("test"):
        return (f"{head}; test R2 {m['test']['r2']:.4f}, macro-F1 {m['test']['macroF1']:.4f}, "
                f"val R2 {m['validation']['r2']:.4f} @ threshold {ck['presenceThreshold']:.2f}")
    # a checkpoint written mid-run (the command was stopped): validation loss only
    last = t["history"][-1] if t.get("history") else {}
    return f"{head}; run did not finish: last val R2 {last.get('valR2', float('nan')):.4f} (checkpoint at the best val loss)"


def main() -> None:
    out = sys.argv[1]
    for arch in sys.argv[2:] or ["lt-vit", "vit", "cnn"]:
        path = os.path.join(out, arch + ".pt")
        print(line(path) if os.path.exists(path) else f"{arch}: no checkpoint ({path})")


if __name__ == "__main__":
    main()
