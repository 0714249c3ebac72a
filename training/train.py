"""Trains one spectrum model (cnn | vit | lt-vit) on a `gemxrf dataset` directory and exports ONNX + card.

    python3 training/train.py --arch lt-vit --data DS --test-data DS_TEST --out models/NAME --minutes 8
    python3 training/train.py --arch cnn --data SHARD1,SHARD2,... --val-data VAL --test-data TEST ...   (several dirs)

Loss: fraction regression over E elements + background (default 'r2': squared error divided by each
column's training variance, i.e. 1 - R^2 per column, which is what the uniform-average R^2 metric rewards)
plus BCE on presence. AdamW, linear warmup then cosine decay over the epoch or time budget, early stopping
on validation loss. The best checkpoint is saved at every improvement (OUT.pt) so a run killed by a time
limit can still be exported with training/export.py.

--presence-target detectable trains presence on the labels above the 3-sigma detection limit (significance.npy;
a thinned row's significance scales with the square root of its kept share) and picks the presence threshold by
the F1 that leaves the present-below-the-limit labels out. --init-from starts from a checkpoint's weights.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import inspect
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from data import (DETECTION_LIMIT_SIGMA, Batches, below_limit, check_compatible, detectable_labels, load_data,
                  preload_limit, split_indices, thin_counts, with_background)
from metrics import best_threshold, macro_f1, r2_uniform, summarise
from models import ARCHS, CNN, LTViT, ViT, build_model, count_parameters

ARCH_CLASSES = {"cnn": CNN, "vit": ViT, "lt-vit": LTViT}
# CLI flag -> constructor argument, per architecture (flags not listed for an arch are ignored for it).
MODEL_FLAGS = {
    "cnn": {"cnn_widths": "widths", "cnn_kernel": "kernel", "cnn_hidden": "hidden", "dropout": "dropout"},
    "vit": {"patch": "patch", "dim": "dim", "depth": "depth", "heads": "heads", "mlp_ratio": "mlp_ratio", "dropout": "dropout"},
    "lt-vit": {"patch": "patch", "dim": "dim", "depth": "depth", "heads": "heads", "mlp_ratio": "mlp_ratio",
               "dropout": "dropout", "label_depth": "label_depth"},
}


def add_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--arch", choices=ARCHS, required=True)
    ap.add_argument("--data", required=True,
                    help="training dataset directory (gemxrf dataset --out), or several comma-separated (read as one, not copied)")
    ap.add_argument("--val-data", help="validation dataset directory or dirs (default: a --val-fraction split of --data)")
    ap.add_argument("--test-data", help="test dataset directory or dirs (default: a --test-fraction split of --data)")
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--test-fraction", type=float, default=0.1)
    ap.add_argument("--out", help="output path without extension: writes OUT.pt, OUT.onnx, OUT.json")
    ap.add_argument("--epochs", type=int, help="epoch limit (default 30 when --minutes is not given)")
    ap.add_argument("--minutes", type=float, help="training time budget; the LR schedule is stretched over it")
    ap.add_argument("--max-steps", type=int, help="hard step limit (smoke tests)")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup-steps", type=int, default=300)
    ap.add_argument("--patience", type=int, default=10, help="evaluations without validation improvement before stopping")
    ap.add_argument("--eval-every", type=int, default=0, help="evaluate every N steps (default: once per epoch)")
    ap.add_argument("--eval-seconds", type=float, default=10.0,
                    help="at least this long between evaluations (GPU epochs of small sets take under a second)")
    ap.add_argument("--max-eval", type=int, default=50000, help="at most this many validation spectra per evaluation")
    ap.add_argument("--frac-loss", choices=["r2", "mse", "kl"], default="r2")
    ap.add_argument("--presence-weight", type=float, default=0.5)
    ap.add_argument("--presence-target", choices=["mixture", "detectable"], default="mixture",
                    help="presence label: 'mixture' (the element is in the mixture; the shipped models) or "
                         "'detectable' (in the mixture and >= 3 sigma for an ideal observer at the row's exposure "
                         "after thinning; needs significance.npy; threshold chosen by the F1 above that limit)")
    ap.add_argument("--init-from", metavar="CHECKPOINT.pt",
                    help="start from this train.py checkpoint's weights (same --arch and model flags required)")
    ap.add_argument("--thin-prob", type=float, default=0.5, help="share of each batch thinned to a lower count total")
    ap.add_argument("--min-counts", type=float, default=50, help="lowest total a spectrum is thinned to")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    ap.add_argument("--preload-fraction", type=float, default=0.3,
                    help="GPU: copy the training set to the card once if it takes at most this share of the free "
                         "memory, else stream batches (concurrent runs on one card: keep the sum well under 1)")
    ap.add_argument("--preload-gb", type=float, default=2.0, help="CPU: preload sets up to this size, else stream batches")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: all cores, at most 8)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    # model hyperparameters (defaults: the constructors' defaults in models.py)
    ap.add_argument("--patch", type=int)
    ap.add_argument("--dim", type=int)
    ap.add_argument("--depth", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--label-depth", type=int)
    ap.add_argument("--mlp-ratio", type=float)
    ap.add_argument("--dropout", type=float)
    ap.add_argument("--cnn-widths", type=lambda s: [int(v) for v in s.split(",")], help="e.g. 16,32,48,64")
    ap.add_argument("--cnn-kernel", type=int)
    ap.add_argument("--cnn-hidden", type=int)


def model_params(arch: str, cfg: dict) -> dict:
    """Effective constructor arguments: models.py defaults overridden by the flags that were given."""
    sig = inspect.signature(ARCH_CLASSES[arch].__init__)
    params = {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}
    for flag, name in MODEL_FLAGS[arch].items():
        if cfg.get(flag) is not None:
            params[name] = cfg[flag]
    if "widths" in params:
        params["widths"] = list(params["widths"])
    return params


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def fraction_loss(kind: str, frac_logits, target, inv_var):
    """target includes the background column (E + 1). 'r2' weights each column by 1 / its variance."""
    if kind == "kl":
        return -(target * F.log_softmax(frac_logits, dim=1)).sum(dim=1).mean()
    err = (torch.softmax(frac_logits, dim=1) - target) ** 2
    if kind == "r2":
        err = err * inv_var
    return err.mean()


def lr_factor(step: int, warmup: int, progress: float) -> float:
    """Linear warmup, then cosine from 1 to 0.01 as progress (0..1, steps or time) runs out.

    Warmup ends after `warmup` steps or 5% of the budget, whichever comes first, so short (search, CPU) runs
    are not spent entirely warming up.
    """
    warm = max((step + 1) / max(warmup, 1), progress / 0.05)
    if warm < 1.0:
        return warm
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


@torch.no_grad()
def predict(model, batches: Batches):
    """Probabilities for a whole index set, as numpy: predicted fractions (without background) and presence,
    target fractions and presence, and the significance (None unless `batches` reads it)."""
    model.eval()
    fr, pr, ft, pt, zt = [], [], [], [], []
    for x, f, p, *z in batches:
        fl, pl = model(x)
        fr.append(torch.softmax(fl, dim=1)[:, :-1].float().cpu().numpy())
        pr.append(torch.sigmoid(pl).float().cpu().numpy())
        ft.append(f.cpu().numpy())
        pt.append(p.cpu().numpy())
        if z:
            zt.append(z[0].cpu().numpy())
    sig = np.concatenate(zt) if zt else None
    return np.concatenate(fr), np.concatenate(pr), np.concatenate(ft), np.concatenate(pt), sig


def load_init(cfg: dict, mp: dict) -> dict:
    """The --init-from checkpoint, refused unless its architecture and model hyperparameters are this run's."""
    path = cfg["init_from"]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--init-from {path}: no such checkpoint")
    ck = torch.load(path, map_location="cpu")
    if not isinstance(ck, dict) or "state" not in ck or "arch" not in ck:
        raise ValueError(f"--init-from {path}: not a train.py checkpoint (no 'arch'/'state')")
    if ck["arch"] != cfg["arch"]:
        raise ValueError(f"--init-from {path}: checkpoint is --arch {ck['arch']}, this run is --arch {cfg['arch']}")
    theirs = dict(ck.get("modelParams") or {})
    if "widths" in theirs:
        theirs["widths"] = list(theirs["widths"])
    if theirs != mp:
        diff = {k: {"checkpoint": theirs.get(k), "this run": mp.get(k)} for k in sorted(set(theirs) | set(mp))
                if theirs.get(k) != mp.get(k)}
        raise ValueError(f"--init-from {path}: model hyperparameters differ from the checkpoint's {theirs}: {diff} "
                         f"(give the same model flags the checkpoint was trained with)")
    with open(path, "rb") as f:
        ck["sha256"] = hashlib.sha256(f.read()).hexdigest()
    return ck


def apply_init(model: torch.nn.Module, ck: dict, ds, path: str) -> None:
    """Loads the checkpoint's weights into `model`, refusing data on another energy grid or element list."""
    if ck.get("energyGrid") != ds.energy_grid or list(ck.get("elements") or []) != ds.elements:
        raise ValueError(f"--init-from {path}: checkpoint's energy grid / elements ({ck.get('energyGrid')}, "
                         f"{ck.get('elements')}) differ from the data's ({ds.energy_grid}, {ds.elements})")
    model.load_state_dict(ck["state"])


def init_record(path: str, ck: dict) -> dict:
    """training.initFrom: which checkpoint the weights started from and how that checkpoint was trained
    (its training block without the long history and generator parameters, and its headline metrics)."""
    rec = {"file": os.path.basename(path), "sha256": ck["sha256"], "presenceThreshold": ck.get("presenceThreshold")}
    if isinstance(ck.get("training"), dict):
        rec["training"] = {k: v for k, v in ck["training"].items() if k not in ("history", "generator")}
    if isinstance(ck.get("metrics"), dict):
        rec["metrics"] = {split: ({k: v for k, v in m.items() if k != "perElement"} if isinstance(m, dict) else m)
                          for split, m in ck["metrics"].items()}
    return rec


def prepare_data(cfg: dict, device: torch.device):
    """Train / validation / test Batches, from separate directories where given, else from splits of --data."""
    ds = load_data(cfg["data"])
    val_ds = load_data(cfg["val_data"]) if cfg.get("val_data") else None
    test_ds = load_data(cfg["test_data"]) if cfg.get("test_data") else None
    for other in (val_ds, test_ds):
        if other is not None:
            check_compatible(ds, other)
    detectable = cfg.get("presence_target", "mixture") == "detectable"
    if detectable:  # fail before any training, naming the directories without significance.npy
        for d in (ds, val_ds, test_ds):
            if d is not None:
                d.require_significance("--presence-target detectable")
    fracs = [0.0 if val_ds else cfg["val_fraction"], 0.0 if test_ds else cfg["test_fraction"]]
    train_idx, val_idx, test_idx = split_indices(ds.n, fracs, cfg["seed"], block=int(ds.meta.get("blockSize", 1)),
                                                 parts=ds.part_sizes)
    rng = np.random.default_rng(cfg["seed"] + 1)

    def cap(d, idx):
        idx = np.arange(d.n) if idx is None else idx
        return np.sort(rng.choice(idx, cfg["max_eval"], replace=False)) if len(idx) > cfg["max_eval"] else idx

    bs = cfg["batch_size"]
    limit = preload_limit(device, cfg.get("preload_fraction", 0.3), int(cfg.get("preload_gb", 2.0) * 2**30))
    # the training batches carry significance only for the detectable target (the mixture run reads exactly
    # what it did before); validation and test carry it whenever it exists, for the F1 above the detection limit
    train = Batches(ds, train_idx, bs, device, shuffle=True, seed=cfg["seed"], preload_bytes=limit, significance=detectable)
    vd, td = val_ds or ds, test_ds or ds
    val = Batches(vd, cap(vd, None if val_ds else val_idx), 4096, device, shuffle=False,
                  significance=vd.significance is not None)
    test = Batches(td, np.arange(test_ds.n) if test_ds else test_idx, 4096, device, shuffle=False,
                   significance=td.significance is not None)
    if len(val.indices) == 0 or len(test.indices) == 0:
        raise ValueError("validation or test set is empty: give --val-data/--test-data or larger fractions")
    # per split: where it came from, its generator seed and size (the card's training.datasets); a split
    # read from several directories also lists each one's seed, shift and rows used (`parts`)
    def record(path, d, idx):
        rec = {"path": path, "seed": d.meta.get("seed"), "n": int(len(idx))}
        if d.parts:
            rec["parts"] = d.part_records(idx)
        return rec

    seeds = {
        "train": record(cfg["data"], ds, train.indices),
        "validation": record(cfg.get("val_data") or "split of train", val_ds or ds, val.indices),
        "test": record(cfg.get("test_data") or "split of train", test_ds or ds, test.indices),
    }
    log = (lambda *a: None) if cfg.get("quiet") else (lambda *a: print(*a, file=sys.stderr, flush=True))
    log(f"data: {len(ds.part_sizes)} training dir(s), {ds.n} spectra, "
        f"{'preloaded to ' + str(device) if train.preloaded else 'streamed from the memory maps'} "
        f"({train.nbytes / 2**30:.2f} GiB, limit {limit / 2**30:.2f} GiB)")
    return ds, train, val, test, seeds


def run(cfg: dict) -> dict:
    """Trains per cfg (the parsed CLI flags as a dict); returns the best model, its metrics and the card fields."""
    t_start = time.time()
    device = pick_device(cfg["device"])
    if device.type == "cpu":
        torch.set_num_threads(cfg["threads"] or min(os.cpu_count() or 1, 8))
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    log = (lambda *a: None) if cfg.get("quiet") else (lambda *a: print(*a, file=sys.stderr, flush=True))

    arch = cfg["arch"]
    mp = model_params(arch, cfg)
    init = load_init(cfg, mp) if cfg.get("init_from") else None  # before the data: a mismatch fails at once
    ds, train, val, test, seeds = prepare_data(cfg, device)
    detectable = cfg.get("presence_target", "mixture") == "detectable"
    model = build_model(arch, ds.channels, len(ds.elements), **mp)
    if init is not None:
        apply_init(model, init, ds, cfg["init_from"])
        log(f"weights from {cfg['init_from']}")
        init = init_record(cfg["init_from"], init)
    model = model.to(device)
    log(f"{arch}: {count_parameters(model)} parameters, {len(train.indices)} train / {len(val.indices)} val / "
        f"{len(test.indices)} test spectra, device {device}")

    # Column variances of the training targets (incl. background) for the 'r2' loss; from a sample is enough.
    sample = np.sort(np.random.default_rng(cfg["seed"]).choice(train.indices, min(len(train.indices), 100000), replace=False))
    tgt = with_background(torch.from_numpy(np.asarray(ds.fractions[sample], dtype=np.float32)))
    inv_var = (1.0 / tgt.var(dim=0).clamp_min(1e-6)).to(device)

    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    epochs = cfg.get("epochs") or (None if cfg.get("minutes") else 30)
    budget_s = cfg["minutes"] * 60.0 if cfg.get("minutes") else None
    total_steps = epochs * len(train) if epochs else None
    if cfg.get("max_steps"):
        total_steps = min(total_steps or cfg["max_steps"], cfg["max_steps"])
    eval_every = cfg.get("eval_every") or len(train)

    best = {"loss": float("inf"), "state": None, "step": 0, "threshold": 0.5, "val": None}
    history, step, evals_since_best, stopped_by = [], 0, 0, "epochs"
    t_train = last_eval = time.time()
    running = []

    def evaluate():
        nonlocal evals_since_best
        fp, pp, ft, pt, zt = predict(model, val)
        ft_t, fp_t = torch.from_numpy(ft), torch.from_numpy(fp)
        tgt_bg = with_background(ft_t)
        pred_bg = torch.cat([fp_t, (1 - fp_t.sum(1, keepdim=True)).clamp_min(1e-7)], dim=1)
        fl = fraction_loss(cfg["frac_loss"], torch.log(pred_bg.clamp_min(1e-7)), tgt_bg, inv_var.cpu())
        # the validation loss scores the label the run trains on (it picks the checkpoint)
        label = detectable_labels(pt, zt).astype(np.float32) if detectable else pt
        bce = F.binary_cross_entropy(torch.from_numpy(pp).clamp(1e-7, 1 - 1e-7), torch.from_numpy(label))
        loss = float(fl + cfg["presence_weight"] * bce)
        ignore = below_limit(pt, zt) if zt is not None else None
        # detectable: the threshold maximises the F1 that leaves present-below-the-limit labels out
        thr, _ = best_threshold(pt, pp, ignore=ignore if detectable else None)
        f1 = macro_f1(pt, pp, thr)
        r2 = r2_uniform(ft, fp)
        history.append({"step": step, "seconds": round(time.time() - t_train, 1),
                        "trainLoss": float(np.mean(running)) if running else None, "valLoss": loss, "valR2": r2, "valMacroF1": f1})
        f1d_txt = ""
        if ignore is not None:
            history[-1]["valMacroF1Detectable"] = macro_f1(pt, pp, thr, ignore)
            f1d_txt = f"  F1>=3s {history[-1]['valMacroF1Detectable']:.4f}"
        log(f"step {step:6d}  train {history[-1]['trainLoss'] or float('nan'):.4f}  val {loss:.4f}  R2 {r2:.4f}  "
            f"F1 {f1:.4f}{f1d_txt} @ {thr:.2f}")
        running.clear()
        if cfg.get("on_eval"):
            cfg["on_eval"](step, r2)  # search.py reports to Optuna here; it may raise optuna.TrialPruned
        if loss < best["loss"]:
            best.update(loss=loss, state=copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()}),
                        step=step, threshold=thr)
            evals_since_best = 0
            if cfg.get("out"):
                save_checkpoint(cfg, arch, mp, ds, best, seeds, train, history, device, t_train, metrics=None, init=init)
        else:
            evals_since_best += 1
        model.train()

    model.train()
    done = False
    while not done:
        for x, f, p, *z in train:
            elapsed = time.time() - t_train
            progress = max(step / total_steps if total_steps else 0.0, elapsed / budget_s if budget_s else 0.0)
            if progress >= 1.0:
                stopped_by = "minutes" if budget_s and elapsed >= budget_s else ("max-steps" if cfg.get("max_steps") and step >= cfg["max_steps"] else "epochs")
                done = True
                break
            for g in opt.param_groups:
                g["lr"] = cfg["lr"] * lr_factor(step, cfg["warmup_steps"], progress)
            if detectable:
                # a row thinned to a share k of its counts is the same sample at k times the exposure: its
                # significance is z * sqrt(k), so a label can fall below the limit here
                x, kept = thin_counts(x, cfg["thin_prob"], cfg["min_counts"], return_keep=True)
                p = detectable_labels(p, z[0], kept).float()
            else:
                x = thin_counts(x, cfg["thin_prob"], cfg["min_counts"])
            fl, pl = model(x)
            loss = fraction_loss(cfg["frac_loss"], fl, with_background(f), inv_var) + \
                cfg["presence_weight"] * F.binary_cross_entropy_with_logits(pl, p)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            running.append(float(loss.detach()))
            step += 1
            if step % eval_every == 0 and time.time() - last_eval >= cfg["eval_seconds"]:
                evaluate()
                last_eval = time.time()
                if evals_since_best >= cfg["patience"]:
                    stopped_by, done = "early-stopping", True
                    break
    if not history or history[-1]["step"] != step:
        evaluate()

    model.load_state_dict(best["state"])
    model.eval()

    def split_metrics(batches):
        fp, pp, ft, pt, zt = predict(model, batches)
        return summarise(ds.elements, ft, fp, pt, pp, best["threshold"], ignore=below_limit(pt, zt) if zt is not None else None)

    metrics = {"validation": split_metrics(val)}
    if cfg.get("skip_test"):  # hyperparameter search: the test set stays unseen until the final training run
        metrics["test"] = None
    else:
        metrics["test"] = split_metrics(test)
    training = training_block(cfg, mp, ds, best, seeds, train, history, device, t_train, stopped_by, init)
    test_txt = f"test R2 {metrics['test']['r2']:.4f}, test macro-F1 {metrics['test']['macroF1']:.4f}" if metrics["test"] else "no test"
    if metrics["test"] and "macroF1Detectable" in metrics["test"]:
        test_txt += f", test F1>=3s {metrics['test']['macroF1Detectable']:.4f}"
    log(f"best step {best['step']}: val R2 {metrics['validation']['r2']:.4f}, {test_txt} @ {best['threshold']:.2f} "
        f"({time.time() - t_start:.0f} s)")
    result = {"model": model.cpu(), "arch": arch, "modelParams": mp, "threshold": best["threshold"], "metrics": metrics,
              "training": training, "energyGrid": ds.energy_grid, "elements": ds.elements, "history": history}
    if cfg.get("out"):
        save_checkpoint(cfg, arch, mp, ds, best, seeds, train, history, device, t_train, metrics, stopped_by, init)
    return result


def training_block(cfg, mp, ds, best, seeds, train, history, device, t_train, stopped_by="running", init=None) -> dict:
    steps_per_epoch = len(train)
    last = history[-1]["step"] if history else 0
    hp = {k: cfg[k] for k in ("batch_size", "lr", "weight_decay", "warmup_steps", "patience", "frac_loss",
                              "presence_weight", "thin_prob", "min_counts", "seed", "val_fraction", "test_fraction")}
    all_seeds = [v["seed"] for v in seeds.values()] + [p["seed"] for v in seeds.values() for p in v.get("parts", [])]
    if init and init.get("training"):
        # the starting weights have seen their own training, validation and test seeds: eval must refuse those too
        all_seeds += list(init["training"].get("datasetSeeds") or [])
        all_seeds += [p.get("seed") for p in init["training"].get("trainingParts") or []]
    target = cfg.get("presence_target", "mixture")
    block = {
        # every dataset seed the model was trained, selected or tested on: `gemxrf eval` refuses to score on them
        "datasetSeeds": sorted({s for s in all_seeds if s is not None}),
        "datasets": seeds,
        # the training set's generator parameters (meta.json minus what the card already says elsewhere)
        "generator": {k: v for k, v in ds.meta.items() if k not in ("elements", "energyGrid", "grid", "files", "seconds")},
        "n": int(len(train.indices)),
        "epochs": round(last / steps_per_epoch, 3),
        "steps": last,
        "bestStep": best["step"],
        "stoppedBy": stopped_by,
        "minutes": round((time.time() - t_train) / 60.0, 2),
        "minutesBudget": cfg.get("minutes"),
        "device": str(device) if device.type == "cpu" else f"{device} ({torch.cuda.get_device_name(device)})",
        "torch": torch.__version__,
        "hyperparameters": {**hp, "model": mp},
        "optimizer": {"name": "AdamW", "lr": cfg["lr"], "weightDecay": cfg["weight_decay"],
                      "schedule": f"linear warmup {cfg['warmup_steps']} steps (or 5% of the budget), cosine to 1% over the step/time budget",
                      "gradClip": 1.0},
        "history": history,
        # each training directory's generator seed, shift and rows used (one entry for a single directory)
        "trainingParts": ds.part_records(train.indices),
        # what the presence output was trained to say: in the mixture, or in it and >= presenceLimitSigma
        "presenceTarget": target,
    }
    if target == "detectable":
        block["presenceLimitSigma"] = DETECTION_LIMIT_SIGMA
    if init:
        block["initFrom"] = init
    return block


def save_checkpoint(cfg, arch, mp, ds, best, seeds, train, history, device, t_train, metrics, stopped_by="running", init=None):
    """OUT.pt: weights + everything export.py needs to write the card without the datasets."""
    ck = {"arch": arch, "modelParams": mp, "state": best["state"], "energyGrid": ds.energy_grid, "elements": ds.elements,
          "presenceThreshold": best["threshold"],
          "training": training_block(cfg, mp, ds, best, seeds, train, history, device, t_train, stopped_by, init),
          "metrics": metrics or {"validation": {"valLoss": best["loss"]}, "test": None}}
    tmp = cfg["out"] + ".pt.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(tmp)), exist_ok=True)
    torch.save(ck, tmp)
    os.replace(tmp, cfg["out"] + ".pt")  # atomic: a kill mid-save never leaves a broken checkpoint


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_args(ap)
    ap.add_argument("--no-export", action="store_true", help="skip writing OUT.onnx / OUT.json")
    cfg = vars(ap.parse_args(argv))
    res = run(cfg)
    out = {"metrics": {k: {m: v[m] for m in ("r2", "macroF1", "macroF1Detectable", "fractionMAE") if m in v}
                       for k, v in res["metrics"].items() if v},
           "presenceThreshold": res["threshold"]}
    if cfg.get("out") and not cfg["no_export"]:
        from export import write_model
        onnx_path, card_path = write_model(cfg["out"], res["arch"], res["model"], res["energyGrid"], res["elements"],
                                           res["threshold"], res["training"], res["metrics"])
        out.update(onnx=onnx_path, card=card_path)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
