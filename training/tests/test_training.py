"""Unit tests for the training code (run: python3 -m unittest discover -s training/tests; mocha runs them too)."""
import json
import os
import sys
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pack  # noqa: E402
import train  # noqa: E402
from data import (Batches, ConcatArray, below_limit, detectable_labels, load_data, load_dataset, preload_limit,  # noqa: E402
                  split_indices, thin_counts, with_background)
from metrics import best_threshold, f1_per_column, macro_f1, r2_per_column, r2_uniform, summarise  # noqa: E402
from models import InGraphNorm, Probabilities, build_model  # noqa: E402

torch.set_num_threads(1)


class Metrics(unittest.TestCase):
    def test_r2_by_hand(self):
        y = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
        p = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
        # column 0: SS_res = 1, SS_tot = 2 -> 0.5; column 1 constant and exact -> 1 (sklearn's force_finite)
        np.testing.assert_allclose(r2_per_column(y, p), [0.5, 1.0])
        self.assertAlmostEqual(r2_uniform(y, p), 0.75)
        p2 = p.copy()
        p2[0, 1] = 6.0  # constant column predicted wrongly -> 0
        self.assertEqual(r2_per_column(y, p2)[1], 0.0)

    def test_f1_and_threshold(self):
        truth = np.array([[1, 0], [1, 0], [0, 0], [0, 1]])
        prob = np.array([[0.9, 0.1], [0.6, 0.2], [0.4, 0.1], [0.2, 0.7]])
        np.testing.assert_allclose(f1_per_column(truth, prob >= 0.5), [1.0, 1.0])
        np.testing.assert_allclose(f1_per_column(truth, prob >= 0.3), [0.8, 1.0])  # one false positive in column 0
        t, f1 = best_threshold(truth, prob)
        self.assertEqual(f1, 1.0)
        self.assertTrue(0.4 < t <= 0.6)


class Data(unittest.TestCase):
    def test_background_column(self):
        f = torch.tensor([[0.2, 0.3], [0.6, 0.5]])
        np.testing.assert_allclose(with_background(f).numpy(), [[0.2, 0.3, 0.5], [0.6, 0.5, 0.0]], atol=1e-7)

    def test_split_is_disjoint_and_complete(self):
        tr, va, te = split_indices(100, [0.1, 0.2], seed=3)
        self.assertEqual((len(tr), len(va), len(te)), (70, 10, 20))
        self.assertEqual(sorted(np.concatenate([tr, va, te]).tolist()), list(range(100)))

    def test_split_keeps_blocks_together(self):
        tr, va, te = split_indices(103, [0.2, 0.2], seed=1, block=10)  # 11 blocks, the last one short
        self.assertEqual(sorted(np.concatenate([tr, va, te]).tolist()), list(range(103)))
        for part in (tr, va, te):
            self.assertGreater(len(part), 0)
            for other in (tr, va, te):
                if other is not part:
                    self.assertFalse(set((part // 10).tolist()) & set((other // 10).tolist()))

    def test_thinning_keeps_shape_and_lowers_counts(self):
        torch.manual_seed(0)
        x = torch.tensor([[30000.0, 10000.0, 0.0]]).repeat(400, 1)
        y = thin_counts(x, prob=1.0, min_total=100)
        self.assertTrue(torch.all(y <= x) and torch.all(y == y.round()) and torch.all(y[:, 2] == 0))
        totals = y.sum(1)
        self.assertGreaterEqual(float(totals.min()), 50)  # down to ~min_total, never to nothing
        self.assertLess(float(totals.median()), 0.5 * 40000)  # log-uniform totals: most rows thinned well down
        ratio = y[:, 0].sum() / y[:, 1].sum()  # binomial thinning preserves the expected shape (3:1)
        self.assertAlmostEqual(float(ratio), 3.0, delta=0.15)
        self.assertTrue(torch.equal(thin_counts(x, prob=0.0, min_total=100), x))

    def test_memory_map_and_preload_give_the_same_batches(self):
        with tempfile.TemporaryDirectory() as d:
            rng = np.random.default_rng(1)
            np.save(os.path.join(d, "spectra.npy"), rng.poisson(5, (50, 16)).astype(np.float32))
            np.save(os.path.join(d, "fractions.npy"), rng.random((50, 3)).astype(np.float32) / 3)
            np.save(os.path.join(d, "presence.npy"), (rng.random((50, 3)) < 0.5).astype(np.uint8))
            with open(os.path.join(d, "meta.json"), "w") as f:
                f.write('{"grid": {"channels": 16, "eMinKeV": 0, "eMaxKeV": 1.6}, "elements": ["Fe", "Cu", "Pb"], "seed": 1}')
            ds = load_dataset(d)
            idx = np.arange(3, 40)
            a = list(Batches(ds, idx, 8, torch.device("cpu"), shuffle=True, seed=4))
            b = list(Batches(ds, idx, 8, torch.device("cpu"), shuffle=True, seed=4, preload_bytes=0))
            self.assertEqual(len(a), 5)
            for ta, tb in zip(a, b):
                for u, v in zip(ta, tb):
                    self.assertTrue(torch.equal(u, v))
            seen = torch.cat([x for x, _, _ in a])  # one epoch visits every index once
            self.assertTrue(torch.equal(seen.sum(0), torch.from_numpy(ds.spectra[idx].sum(0))))

            pack.pack(d, os.path.join(d, "ds.npz"))  # the carry format round-trips exactly
            pack.unpack(os.path.join(d, "ds.npz"), os.path.join(d, "copy"))
            back = load_dataset(os.path.join(d, "copy"))
            for name in ("spectra", "fractions", "presence"):
                self.assertTrue(np.array_equal(getattr(back, name), getattr(ds, name)), name)
            self.assertEqual(back.meta, ds.meta)


def write_tiny_dataset(d, n, seed, shift="nominal", channels=16, block=4, significance=False):
    """A gemxrf-dataset-shaped directory with random contents (the loader checks shapes, not physics)."""
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    np.save(os.path.join(d, "spectra.npy"), rng.poisson(5, (n, channels)).astype(np.float32))
    np.save(os.path.join(d, "fractions.npy"), rng.random((n, 3)).astype(np.float32) / 3)
    presence = (rng.random((n, 3)) < 0.5).astype(np.uint8)
    np.save(os.path.join(d, "presence.npy"), presence)
    if significance:  # 0 where absent, as gemxrf dataset writes it; about half the present labels below 3 sigma
        np.save(os.path.join(d, "significance.npy"), (presence * rng.uniform(0.5, 8.0, (n, 3))).astype(np.float32))
    meta = {"grid": {"channels": channels, "eMinKeV": 0, "eMaxKeV": 1.6}, "elements": ["Fe", "Cu", "Pb"], "seed": seed,
            "n": n, "shift": shift, "blockSize": block, "nuisance": {"shift": shift}}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)


class MultiDirectory(unittest.TestCase):
    """Several shard directories read as one dataset (training/device/run.sh trains on ~100 of them)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dirs = [os.path.join(self.tmp.name, f"s{i}") for i in range(3)]
        for d, (n, seed, shift) in zip(self.dirs, [(10, 101, "nominal"), (7, 102, "nominal"), (9, 201, "drift")]):
            write_tiny_dataset(d, n, seed, shift)
        self.ds = load_data(",".join(self.dirs))
        self.whole = {name: np.concatenate([getattr(load_dataset(d), name) for d in self.dirs])
                      for name in ("spectra", "fractions", "presence")}

    def tearDown(self):
        self.tmp.cleanup()

    def test_rows_read_as_the_concatenation(self):
        self.assertIsInstance(self.ds.spectra, ConcatArray)
        self.assertEqual((self.ds.n, self.ds.part_sizes), (26, [10, 7, 9]))
        rng = np.random.default_rng(0)
        for idx in (np.arange(26), np.sort(rng.choice(26, 12, replace=False)), rng.permutation(26)[:9], np.array([17])):
            for name in ("spectra", "fractions", "presence"):
                np.testing.assert_array_equal(getattr(self.ds, name)[idx], self.whole[name][idx], err_msg=name)
        np.testing.assert_array_equal(self.ds.spectra[5:20], self.whole["spectra"][5:20])
        np.testing.assert_array_equal(np.asarray(self.ds.presence), self.whole["presence"])
        with self.assertRaises(IndexError):
            _ = self.ds.spectra[np.array([26])]

    def test_meta_and_records_list_every_part(self):
        self.assertEqual(self.ds.meta["seeds"], [101, 102, 201])
        self.assertEqual(self.ds.meta["n"], 26)
        self.assertEqual([p["shift"] for p in self.ds.meta["parts"]], ["nominal", "nominal", "drift"])
        self.assertEqual(set(self.ds.meta["nuisanceByShift"]), {"nominal", "drift"})
        self.assertEqual(self.ds.part_records(np.array([0, 1, 12, 20, 25])),
                         [{"seed": 101, "n": 2, "shift": "nominal"}, {"seed": 102, "n": 1, "shift": "nominal"},
                          {"seed": 201, "n": 2, "shift": "drift"}])
        self.assertEqual(load_data(self.dirs[0]).part_records(), [{"seed": 101, "n": 10, "shift": "nominal"}])

    def test_incompatible_parts_are_refused(self):
        other = os.path.join(self.tmp.name, "wide")
        write_tiny_dataset(other, 5, 7, channels=32)
        with self.assertRaises(ValueError):
            load_data(f"{self.dirs[0]},{other}")

    def test_split_blocks_never_span_two_directories(self):
        parts = self.ds.part_sizes  # blocks of 4: 3 + 2 + 3 = 8 blocks, each directory's last one short
        tr, va = split_indices(26, [0.25], seed=2, block=4, parts=parts)
        self.assertEqual(sorted(np.concatenate([tr, va]).tolist()), list(range(26)))
        part_of = np.searchsorted(np.cumsum(parts), np.arange(26), side="right")
        block_of = np.array([(i - np.concatenate([[0], np.cumsum(parts)])[part_of[i]]) // 4 for i in range(26)])
        key = set(zip(part_of[va].tolist(), block_of[va].tolist()))
        self.assertFalse(key & set(zip(part_of[tr].tolist(), block_of[tr].tolist())))
        self.assertEqual(len(key), 2)
        for a, b in zip(split_indices(103, [0.2, 0.2], seed=1, block=10), split_indices(103, [0.2, 0.2], seed=1, block=10, parts=[103])):
            np.testing.assert_array_equal(a, b)  # one part: the same split as before parts existed

    def test_batches_equal_preloaded_chunked_and_streamed(self):
        idx = np.arange(2, 25)
        old_chunk = Batches.CHUNK
        try:
            Batches.CHUNK = 5  # several host->device chunks even for a tiny set
            a = list(Batches(self.ds, idx, 8, torch.device("cpu"), shuffle=True, seed=4))
        finally:
            Batches.CHUNK = old_chunk
        b = list(Batches(self.ds, idx, 8, torch.device("cpu"), shuffle=True, seed=4, preload_bytes=0))
        self.assertEqual(len(a), 3)
        for ta, tb in zip(a, b):
            for u, v in zip(ta, tb):
                self.assertTrue(torch.equal(u, v))
        seen = torch.cat([x for x, _, _ in a])
        self.assertTrue(torch.equal(seen.sum(0), torch.from_numpy(self.whole["spectra"][idx].sum(0))))


    def test_gpu_preload_limit_is_a_share_of_free_memory(self):
        # no GPU here: check the call shape (an index, not a bare "cuda" device, which torch 1.13 refuses)
        with mock.patch("torch.cuda.current_device", return_value=0), \
                mock.patch("torch.cuda.mem_get_info", return_value=(10 << 30, 80 << 30)) as info:
            self.assertEqual(preload_limit(torch.device("cuda"), 0.25), int(0.25 * (10 << 30)))
            info.assert_called_with(0)
            preload_limit(torch.device("cuda:1"), 0.25)
            info.assert_called_with(1)
        self.assertEqual(preload_limit(torch.device("cpu"), 0.25, 123), 123)


class DetectionLimit(unittest.TestCase):
    """--presence-target detectable: labels above 3 sigma at the row's exposure, F1 with the rest left out."""

    def test_label_scales_significance_with_the_kept_share(self):
        presence = np.array([[1, 1, 1, 0], [1, 1, 1, 0]], dtype=np.uint8)
        z = np.array([[5.0, 6.0, 2.9, 0.0], [5.0, 6.0, 2.9, 0.0]], dtype=np.float32)
        keep = np.array([1.0, 0.25])  # row 1 thinned to a quarter of its counts: half the significance
        np.testing.assert_array_equal(detectable_labels(presence, z, keep), [[1, 1, 0, 0], [0, 1, 0, 0]])  # 6 -> 3: kept
        np.testing.assert_array_equal(detectable_labels(presence, z), [[1, 1, 0, 0], [1, 1, 0, 0]])  # unthinned
        # the same on tensors (the training loop), with the keep share thin_counts reports
        lab = detectable_labels(torch.from_numpy(presence).float(), torch.from_numpy(z), torch.tensor([1.0, 0.25]))
        np.testing.assert_array_equal(lab.numpy(), [[1, 1, 0, 0], [0, 1, 0, 0]])
        np.testing.assert_array_equal(below_limit(presence, z), [[0, 0, 1, 0], [0, 0, 1, 0]])  # absent is never ignored

    def test_thinning_reports_each_rows_kept_share(self):
        torch.manual_seed(1)
        x = torch.tensor([[30000.0, 10000.0, 0.0]]).repeat(400, 1)
        x[:50] = torch.tensor([20.0, 10.0, 0.0])  # already under min_total: never thinned
        y, keep = thin_counts(x, prob=0.5, min_total=100, return_keep=True)
        y_plain = thin_counts(x, prob=0.5, min_total=100, generator=None)  # the old call still returns one tensor
        self.assertIsInstance(y_plain, torch.Tensor)
        self.assertEqual(tuple(keep.shape), (400,))
        untouched = keep == 1.0
        self.assertTrue(torch.all(untouched[:50]))
        self.assertTrue(torch.equal(y[untouched], x[untouched]))  # ratio 1 <=> the row is returned as it was
        self.assertGreater(int((~untouched).sum()), 100)  # about half the rows thinned
        ratio = y[~untouched].sum(1) / x[~untouched].sum(1)  # the actual kept share is binomial around p
        np.testing.assert_allclose(ratio.numpy(), keep[~untouched].numpy(), rtol=0.5, atol=0.01)
        self.assertLess(float((ratio / keep[~untouched]).mean() - 1).__abs__(), 0.05)
        _, k0 = thin_counts(x, prob=0.0, min_total=100, return_keep=True)
        self.assertTrue(torch.all(k0 == 1.0))

    def test_masked_f1_by_hand(self):
        truth = np.array([[1, 0], [1, 1], [1, 0], [0, 1], [0, 0]])
        predicted = np.array([[1, 0], [0, 1], [0, 1], [0, 0], [1, 0]])
        # column 0: tp 1, fn 2, fp 1 -> 2/5; column 1: tp 1, fn 1, fp 1 -> 1/2
        np.testing.assert_allclose(f1_per_column(truth, predicted), [0.4, 0.5])
        ignore = np.zeros_like(truth, dtype=bool)
        ignore[1, 0] = ignore[2, 0] = True  # two misses below the limit: left out
        ignore[3, 1] = True
        # column 0: tp 1, fp 1 -> 2/3; column 1: tp 1, fp 1 -> 2/3
        np.testing.assert_allclose(f1_per_column(truth, predicted, ignore), [2 / 3, 2 / 3])
        # ignoring every positive of a column that predicts nothing else: nothing to find, nothing claimed -> 1
        np.testing.assert_allclose(f1_per_column(truth[:, :1], np.zeros((5, 1)), truth[:, :1] > 0), [1.0])
        self.assertAlmostEqual(macro_f1(truth, predicted.astype(float), 0.5, ignore), 2 / 3)

    def test_masked_threshold_and_summary(self):
        truth = np.array([[1], [1], [1], [0], [0]])
        prob = np.array([[0.9], [0.8], [0.2], [0.1], [0.3]])
        ignore = np.array([[0], [0], [1], [0], [0]], dtype=bool)  # the weak positive at 0.2 is below the limit
        t_all, f_all = best_threshold(truth, prob)
        self.assertLessEqual(t_all, 0.2)  # to catch it, all labels need a threshold under 0.2 (and the 0.3 false alarm)
        self.assertAlmostEqual(f_all, 6 / 7)
        t_det, f_det = best_threshold(truth, prob, ignore=ignore)
        self.assertEqual(f_det, 1.0)
        self.assertTrue(0.3 < t_det <= 0.8)
        fr = np.full((5, 1), 0.1)
        plain = summarise(["Fe"], fr, fr, truth, prob, t_det)
        self.assertNotIn("macroF1Detectable", plain)
        self.assertNotIn("f1Detectable", plain["perElement"]["Fe"])
        masked = summarise(["Fe"], fr, fr, truth, prob, t_det, ignore=ignore)
        self.assertAlmostEqual(masked["macroF1"], 0.8)  # the in-mixture labels still count the miss
        self.assertEqual((masked["macroF1Detectable"], masked["perElement"]["Fe"]["f1Detectable"]), (1.0, 1.0))

    def test_batches_carry_significance_on_request(self):
        with tempfile.TemporaryDirectory() as d:
            write_tiny_dataset(os.path.join(d, "a"), 12, 1, significance=True)
            write_tiny_dataset(os.path.join(d, "b"), 9, 2, significance=True)
            ds = load_data(f"{d}/a,{d}/b")
            whole = np.concatenate([np.load(f"{d}/{k}/significance.npy") for k in "ab"])
            idx = np.arange(3, 20)
            for preload in (None, 0):
                three = list(Batches(ds, idx, 5, torch.device("cpu"), shuffle=True, seed=3, preload_bytes=preload))
                four = list(Batches(ds, idx, 5, torch.device("cpu"), shuffle=True, seed=3, preload_bytes=preload,
                                    significance=True))
                self.assertEqual({len(b) for b in three}, {3})
                self.assertEqual({len(b) for b in four}, {4})
                for b3, b4 in zip(three, four):  # the same rows, in the same order, plus their significance
                    for u, v in zip(b3, b4):
                        self.assertTrue(torch.equal(u, v))
                seen = torch.cat([b[3] for b in four])
                self.assertTrue(torch.equal(seen.sum(0), torch.from_numpy(whole[idx].sum(0))))
            pack.pack(f"{d}/a", f"{d}/a.npz")  # the carry format keeps significance.npy
            pack.unpack(f"{d}/a.npz", f"{d}/a2")
            np.testing.assert_array_equal(load_dataset(f"{d}/a2").significance, whole[:12])

    def test_detectable_without_significance_fails_naming_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            old, new = os.path.join(d, "old"), os.path.join(d, "new")
            write_tiny_dataset(old, 24, 1)
            write_tiny_dataset(new, 24, 2, significance=True)
            self.assertIsNone(load_dataset(old).significance)  # an older set still loads ...
            self.assertIsNone(load_data(f"{new},{old}").significance)  # ... and a mixed one has no column
            res = train.run(tiny_cfg(old, "mixture"))  # ... and trains on the in-mixture labels
            self.assertNotIn("macroF1Detectable", res["metrics"]["test"])
            for data in (old, f"{new},{old}"):
                with self.assertRaises(FileNotFoundError) as err:
                    train.run(tiny_cfg(data, "detectable"))
                self.assertIn("significance.npy", str(err.exception))
                self.assertIn(old, str(err.exception))
                self.assertNotIn(new, str(err.exception))
                self.assertIn("--presence-target detectable", str(err.exception))
            with self.assertRaises(FileNotFoundError):  # the validation set needs it too
                train.run({**tiny_cfg(new, "detectable"), "val_data": old})

    def test_detectable_run_records_its_target(self):
        with tempfile.TemporaryDirectory() as d:
            write_tiny_dataset(d, 48, 3, significance=True)
            res = train.run(tiny_cfg(d, "detectable"))
            self.assertEqual((res["training"]["presenceTarget"], res["training"]["presenceLimitSigma"]), ("detectable", 3))
            for split in ("validation", "test"):
                self.assertIn("macroF1Detectable", res["metrics"][split])
            self.assertIn("valMacroF1Detectable", res["history"][-1])
            mix = train.run(tiny_cfg(d, "mixture"))
            self.assertEqual(mix["training"]["presenceTarget"], "mixture")
            self.assertNotIn("presenceLimitSigma", mix["training"])
            self.assertIn("macroF1Detectable", mix["metrics"]["test"])  # reported whenever significance exists


def tiny_cfg(data, target="mixture", **flags):
    """train.py's flags for a few steps of a small CNN on a tiny dataset (CPU, quiet)."""
    args = ["--arch", "cnn", "--data", data, "--max-steps", "3", "--eval-every", "3", "--eval-seconds", "0",
            "--batch-size", "8", "--warmup-steps", "1", "--threads", "1", "--device", "cpu", "--val-fraction", "0.25",
            "--test-fraction", "0.25", "--cnn-widths", "4,4", "--cnn-hidden", "8", "--presence-target", target, "--quiet"]
    for k, v in flags.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    ap = train.argparse.ArgumentParser()
    train.add_args(ap)
    return vars(ap.parse_args(args))


class InitFrom(unittest.TestCase):
    def test_round_trip_and_mismatch(self):
        with tempfile.TemporaryDirectory() as d:
            write_tiny_dataset(os.path.join(d, "a"), 48, 11)
            write_tiny_dataset(os.path.join(d, "b"), 48, 12)
            base = os.path.join(d, "base")
            train.run(tiny_cfg(os.path.join(d, "a"), out=base))
            saved = torch.load(base + ".pt")

            cfg = tiny_cfg(os.path.join(d, "b"), init_from=base + ".pt")
            mp = train.model_params("cnn", cfg)
            ck = train.load_init(cfg, mp)
            model = build_model("cnn", 16, 3, **mp)
            train.apply_init(model, ck, load_data(os.path.join(d, "b")), base + ".pt")
            state = model.state_dict()
            self.assertEqual(set(state), set(saved["state"]))
            for k, v in saved["state"].items():  # every weight and BN statistic as saved
                self.assertTrue(torch.equal(state[k], v), k)

            res = train.run(cfg)  # fine-tuning from it records where it started
            init = res["training"]["initFrom"]
            self.assertEqual(init["file"], "base.pt")
            self.assertEqual(init["training"]["datasetSeeds"], [11])
            self.assertNotIn("history", init["training"])
            self.assertIn("r2", init["metrics"]["test"])
            self.assertEqual(res["training"]["datasetSeeds"], [11, 12])  # the starting weights' seeds stay refused

            with self.assertRaises(ValueError) as err:  # another shape
                train.run(tiny_cfg(os.path.join(d, "b"), init_from=base + ".pt", cnn_hidden=16))
            self.assertIn("hidden", str(err.exception))
            with self.assertRaises(ValueError) as err:  # another architecture
                train.run({**tiny_cfg(os.path.join(d, "b"), init_from=base + ".pt"), "arch": "vit"})
            self.assertIn("--arch cnn", str(err.exception))
            other = os.path.join(d, "wide")
            write_tiny_dataset(other, 48, 13, channels=32)
            with self.assertRaises(ValueError) as err:  # another energy grid
                train.run(tiny_cfg(other, init_from=base + ".pt"))
            self.assertIn("energy grid", str(err.exception))


class Models(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.x = torch.poisson(torch.rand(3, 64) * 30)

    def test_normalisation_is_inside_the_graph(self):
        feats, level = InGraphNorm(64)(self.x)
        feats2, level2 = InGraphNorm(64)(self.x * 10)
        torch.testing.assert_close(feats, feats2)  # the shape does not depend on exposure ...
        torch.testing.assert_close(level2 - level, torch.full_like(level, 1 / 1.5), atol=2e-3, rtol=0)  # ... the level does
        f0, l0 = InGraphNorm(64)(torch.zeros(1, 64))
        self.assertTrue(torch.isfinite(f0).all() and torch.isfinite(l0).all())

    def test_outputs_are_fractions_and_probabilities(self):
        for arch in ("cnn", "vit", "lt-vit"):
            m = build_model(arch, 64, 5, **({"patch": 8, "dim": 32} if arch != "cnn" else {"widths": (8, 8)})).eval()
            f, p = Probabilities(m)(self.x)
            self.assertEqual(tuple(f.shape), (3, 5))
            self.assertTrue(torch.all(f >= 0) and torch.all(f.sum(1) <= 1 + 1e-6) and torch.all((p >= 0) & (p <= 1)), arch)

    def test_lt_vit_data_tokens_never_see_label_tokens(self):
        m = build_model("lt-vit", 64, 5, patch=8, dim=32, depth=3, label_depth=2, dropout=0.0).eval()
        with torch.no_grad():
            t = m.tokens(self.x)
            t = m.blocks[0](t)
            n_lbl = 6
            labels = m.labels.expand(3, -1, -1)
            joint = m.blocks[1](torch.cat([t, labels], dim=1), n_lbl)
            alone = m.blocks[1](t)
            torch.testing.assert_close(joint[:, :-n_lbl], alone)  # data path identical with or without labels
            joint2 = m.blocks[1](torch.cat([t, labels * 3.0], dim=1), n_lbl)
            torch.testing.assert_close(joint2[:, :-n_lbl], alone)
            self.assertFalse(torch.allclose(joint2[:, -n_lbl:], joint[:, -n_lbl:]))  # labels see each other
            t2 = t.clone()
            t2[:, 3] += 1.0
            joint3 = m.blocks[1](torch.cat([t2, labels], dim=1), n_lbl)
            self.assertFalse(torch.allclose(joint3[:, -n_lbl:], joint[:, -n_lbl:]))  # labels see the data

    def test_last_block_shortcut_is_exact(self):
        m = build_model("vit", 64, 5, patch=8, dim=32, depth=2, dropout=0.0).eval()
        with torch.no_grad():
            t = torch.randn(2, 10, 32)
            torch.testing.assert_close(m.blocks[1](t, keep_last=1), m.blocks[1](t)[:, -1:])
            torch.testing.assert_close(m.blocks[1](t, keep_last=4), m.blocks[1](t, n_query_only=4)[:, -4:])


if __name__ == "__main__":
    unittest.main()
