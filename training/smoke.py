"""Smoke run: a few training steps per architecture on a tiny dataset, export, and PyTorch reference outputs.

    python3 training/smoke.py --data DS --out DIR [--archs cnn,vit,lt-vit] [--steps 6]

Writes DIR/smoke-ARCH.{pt,onnx,json} and DIR/smoke-ARCH.ref.json ({inputs, fractions, presence}: PyTorch's
outputs for a few raw-count spectra, including an all-zero one and a very bright one), and prints a JSON
summary. test/training/smoke.test.ts runs the same inputs through onnxruntime-node and compares.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch

import train
from data import load_dataset
from export import write_model
from models import ARCHS, Probabilities


def reference_inputs(data_dir: str, k: int, seed: int) -> np.ndarray:
    """k dataset spectra, plus an all-zero spectrum (exercises the max(sum, 1) guard) and a 100x brighter one."""
    ds = load_dataset(data_dir)
    idx = np.sort(np.random.default_rng(seed).choice(ds.n, min(k, ds.n), replace=False))
    x = np.asarray(ds.spectra[idx], dtype=np.float32)
    return np.concatenate([x, np.zeros((1, ds.channels), np.float32), np.round(x[:1] * 100.0)], axis=0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)  # the classic exporter's shape-inference chatter
    os.makedirs(a.out, exist_ok=True)
    inputs = reference_inputs(a.data, 5, a.seed)
    summary = []
    for arch in a.archs.split(","):
        t0 = time.time()
        base = os.path.join(a.out, f"smoke-{arch}")
        parser = argparse.ArgumentParser()
        train.add_args(parser)
        cfg = vars(parser.parse_args([
            "--arch", arch, "--data", a.data, "--out", base, "--max-steps", str(a.steps), "--eval-every", str(a.steps),
            "--batch-size", str(a.batch_size), "--warmup-steps", "2", "--threads", str(a.threads), "--device", "cpu",
            "--seed", str(a.seed), "--val-fraction", "0.2", "--test-fraction", "0.2", "--quiet",
        ]))
        res = train.run(cfg)
        onnx_path, card_path = write_model(base, arch, res["model"], res["energyGrid"], res["elements"], res["threshold"],
                                           res["training"], res["metrics"])
        with torch.no_grad():
            fr, pr = Probabilities(res["model"].eval())(torch.from_numpy(inputs))
        ref_path = base + ".ref.json"
        with open(ref_path, "w", encoding="utf8") as f:
            json.dump({"inputs": inputs.tolist(), "fractions": fr.numpy().tolist(), "presence": pr.numpy().tolist()}, f)
        summary.append({"arch": arch, "onnx": onnx_path, "card": card_path, "ref": ref_path,
                        "steps": res["training"]["steps"], "seconds": round(time.time() - t0, 1)})
        print(f"{arch}: {summary[-1]['seconds']} s", file=sys.stderr, flush=True)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
