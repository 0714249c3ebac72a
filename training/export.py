"""ONNX export and model card writing (docs/models.md is the contract these files must meet).

Usable on its own to re-export a checkpoint written by train.py:
    python3 training/export.py --checkpoint models/NAME.pt --out models/NAME
"""
from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os

import onnx
import torch

from models import Probabilities, build_model, count_parameters

OPSET = 17  # LayerNormalization is a single op from 17 on; torch 1.13 and onnxruntime >= 1.14 both support it
MAX_BYTES = 5 * 1024 * 1024  # models ship in the repo and load in the daemon's worker: keep each under 5 MB
CARD_VERSION = 1


def export_onnx(model: torch.nn.Module, channels: int, path: str) -> None:
    """Exports Probabilities(model) with one input `spectrum` [batch, C] and outputs fractions, presence."""
    wrapped = Probabilities(model).cpu().eval()
    dummy = torch.poisson(torch.full((2, channels), 20.0))
    kwargs = dict(
        input_names=["spectrum"], output_names=["fractions", "presence"],
        dynamic_axes={"spectrum": {0: "batch"}, "fractions": {0: "batch"}, "presence": {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True,
    )
    # torch >= 2.9 defaults to the dynamo exporter; the contract is built and tested with the classic one.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with torch.no_grad():
        torch.onnx.export(wrapped, (dummy,), path, **kwargs)
    onnx.checker.check_model(onnx.load(path))
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise RuntimeError(f"{path} is {size} bytes, over the {MAX_BYTES}-byte limit for shipped models")


def make_card(name: str, arch: str, model: torch.nn.Module, energy_grid: dict, elements: list[str],
              presence_threshold: float, training: dict, metrics: dict) -> dict:
    c, e = int(energy_grid["channels"]), len(elements)
    return {
        "name": name,
        "version": CARD_VERSION,
        "architecture": arch,
        "parameters": count_parameters(model),
        "input": {"name": "spectrum", "dtype": "float32", "shape": [-1, c]},
        "energyGrid": energy_grid,
        "normalisation": {
            "kind": "in-graph",
            "description": "Input is raw counts per channel on energyGrid; the graph computes shape = x / max(sum(x), 1) "
                           "(times C, plus its square root as a second channel) and level = log10(1 + sum(x)). "
                           "The host only rebins to energyGrid.",
        },
        "outputs": [
            {"name": "fractions", "dtype": "float32", "shape": [-1, e],
             "description": "fraction of the spectrum's counts produced by each element (>= 0, row sum <= 1)"},
            {"name": "presence", "dtype": "float32", "shape": [-1, e],
             "description": "probability that the element is present; compare with presenceThreshold"},
        ],
        "elements": list(elements),
        "presenceThreshold": float(presence_threshold),
        "training": training,
        "metrics": metrics,
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def write_model(out_base: str, arch: str, model: torch.nn.Module, energy_grid: dict, elements: list[str],
                presence_threshold: float, training: dict, metrics: dict) -> tuple[str, str]:
    """Writes OUT.onnx and OUT.json; returns both paths. The card is written last so a card always has its graph."""
    os.makedirs(os.path.dirname(os.path.abspath(out_base)), exist_ok=True)
    onnx_path, card_path = out_base + ".onnx", out_base + ".json"
    export_onnx(model, int(energy_grid["channels"]), onnx_path)
    card = make_card(os.path.basename(out_base), arch, model, energy_grid, elements, presence_threshold, training, metrics)
    with open(card_path, "w", encoding="utf8") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return onnx_path, card_path


def load_checkpoint(path: str) -> tuple[torch.nn.Module, dict]:
    """Rebuilds the model saved by train.py (state dict + everything needed to write its card)."""
    ck = torch.load(path, map_location="cpu")
    model = build_model(ck["arch"], int(ck["energyGrid"]["channels"]), len(ck["elements"]), **ck["modelParams"])
    model.load_state_dict(ck["state"])
    return model.eval(), ck


def main() -> None:
    ap = argparse.ArgumentParser(description="Re-export a train.py checkpoint to ONNX + model card")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True, help="output path without extension (writes OUT.onnx, OUT.json)")
    a = ap.parse_args()
    model, ck = load_checkpoint(a.checkpoint)
    paths = write_model(a.out, ck["arch"], model, ck["energyGrid"], ck["elements"], ck["presenceThreshold"],
                        ck["training"], ck["metrics"])
    print(json.dumps({"onnx": paths[0], "card": paths[1]}))


if __name__ == "__main__":
    main()
