"""Optuna hyperparameter search (as on the poster): each trial is a short train.py run, scored by validation R^2.

    python3 training/search.py --arch lt-vit --data DS --val-data DS_VAL --trials 40 --minutes 9 \\
        --trial-minutes 1 --storage models/search-lt-vit.journal --report models/search-lt-vit.json

--minutes bounds the whole command (no trial starts unless --trial-minutes are left), so a search fits a
10-minute job limit; with --storage the study is kept in a journal file and the next command resumes it.
Median pruning stops trials that trail the others at the same step. The report (--report and stdout) holds the
best parameters as JSON and the train.py flags that reproduce them; the test set is never used here.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import optuna

import train
from data import load_data
from models import build_model, count_parameters

MAX_PARAMETERS = 1_000_000  # 4 MB of float32 weights: keeps every trial under the 5 MB model limit


def suggest(trial: optuna.Trial, arch: str) -> dict:
    """Search space: optimiser and loss settings for all, architecture shape per family (train.py flag names)."""
    p = {
        "lr": trial.suggest_float("lr", 3e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-3, 0.2, log=True),
        # on an H100 these small models run ~67 steps/s at any batch up to 4096 (launch-bound), so big batches
        # see 4x more spectra per minute; small ones take more, noisier steps
        "batch_size": trial.suggest_categorical("batch_size", [512, 1024, 2048, 4096]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.2),
        "presence_weight": trial.suggest_float("presence_weight", 0.1, 1.0),
        "frac_loss": trial.suggest_categorical("frac_loss", ["r2", "mse", "kl"]),
        "thin_prob": trial.suggest_float("thin_prob", 0.0, 0.8),
    }
    if arch == "cnn":
        widths = trial.suggest_categorical("cnn_widths", ["16,32,48,64", "32,64,96,128", "16,32,64", "32,64,128"])
        p["cnn_widths"] = [int(w) for w in widths.split(",")]
        p["cnn_kernel"] = trial.suggest_categorical("cnn_kernel", [3, 5, 7, 9])
        p["cnn_hidden"] = trial.suggest_categorical("cnn_hidden", [64, 128, 256])
    else:
        p["patch"] = trial.suggest_categorical("patch", [8, 16])
        p["dim"] = trial.suggest_categorical("dim", [32, 48, 64, 96])
        p["depth"] = trial.suggest_int("depth", 2, 6)
        p["heads"] = trial.suggest_categorical("heads", [2, 4])
        p["mlp_ratio"] = trial.suggest_categorical("mlp_ratio", [1.0, 2.0, 4.0])
        if arch == "lt-vit":
            p["label_depth"] = trial.suggest_int("label_depth", 1, 3)
            p["label_depth"] = min(p["label_depth"], p["depth"])
    return p


def flags(params: dict) -> list[str]:
    """train.py command-line flags for a parameter dict."""
    out = []
    for k, v in params.items():
        out += [f"--{k.replace('_', '-')}", ",".join(map(str, v)) if isinstance(v, list) else str(v)]
    return out


def open_study(arch: str, storage_path: str | None, seed: int) -> optuna.Study:
    storage = None
    if storage_path:
        try:  # optuna >= 4 renamed the journal file backend
            from optuna.storages.journal import JournalFileBackend as Backend
        except ImportError:
            from optuna.storages import JournalFileStorage as Backend
        storage = optuna.storages.JournalStorage(Backend(storage_path))
    return optuna.create_study(study_name=f"gemxrf-{arch}", storage=storage, load_if_exists=True, direction="maximize",
                               sampler=optuna.samplers.TPESampler(seed=seed),
                               pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    train.add_args(ap)
    ap.add_argument("--trials", type=int, default=20, help="at most this many new trials in this command")
    ap.add_argument("--trial-minutes", type=float, help="training budget per trial (default: --minutes / --trials)")
    ap.add_argument("--storage", help="Optuna journal file; reuse it to resume the study in a later command")
    ap.add_argument("--report", help="write the JSON report here (default: stdout only)")
    cfg0 = vars(ap.parse_args(argv))
    if not cfg0.get("minutes"):
        ap.error("--minutes (the whole search's budget) is required")
    if cfg0.get("init_from"):  # trials change the architecture, which a checkpoint's weights cannot follow
        ap.error("--init-from is for train.py; a search's trials change the model shape")
    trial_minutes = cfg0["trial_minutes"] or cfg0["minutes"] / cfg0["trials"]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(cfg0["arch"], cfg0["storage"], cfg0["seed"])
    t0 = time.time()
    ds = load_data(cfg0["data"])

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, cfg0["arch"])
        cfg = {**cfg0, **params, "minutes": trial_minutes, "epochs": None, "out": None, "skip_test": True, "quiet": True}
        mp = train.model_params(cfg0["arch"], cfg)
        n_params = count_parameters(build_model(cfg0["arch"], ds.channels, len(ds.elements), **mp))
        trial.set_user_attr("parameters", n_params)
        if n_params > MAX_PARAMETERS:
            raise optuna.TrialPruned(f"{n_params} parameters > {MAX_PARAMETERS}")

        def on_eval(step: int, r2: float) -> None:
            trial.report(r2, step)
            if trial.should_prune():
                raise optuna.TrialPruned()

        cfg["on_eval"] = on_eval
        res = train.run(cfg)
        r2 = res["metrics"]["validation"]["r2"]
        print(f"trial {trial.number}: val R2 {r2:.4f} ({n_params} parameters) {json.dumps(params)}", file=sys.stderr, flush=True)
        return r2

    def stop_when_out_of_time(study: optuna.Study, _trial) -> None:
        # each trial needs its training budget plus ~20% for loading, evaluation and pruning bookkeeping
        if time.time() - t0 + trial_minutes * 60 * 1.2 > cfg0["minutes"] * 60:
            study.stop()

    study.optimize(objective, n_trials=cfg0["trials"], callbacks=[stop_when_out_of_time], catch=(RuntimeError,))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    report = {"arch": cfg0["arch"], "trials": len(study.trials), "completed": len(done),
              "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
              "trialMinutes": trial_minutes, "seconds": round(time.time() - t0)}
    if done:
        best = study.best_trial
        params = suggest(optuna.trial.FixedTrial(best.params), cfg0["arch"])
        report.update(bestValue=best.value, bestTrial=best.number, bestParams=params,
                      parameters=best.user_attrs.get("parameters"),
                      trainFlags=" ".join(["--arch", cfg0["arch"], *flags(params)]))
    text = json.dumps(report, indent=2)
    if cfg0.get("report"):
        with open(cfg0["report"], "w", encoding="utf8") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
