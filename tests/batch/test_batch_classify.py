"""The batch command's measure and classify steps: zarr columns, CSV tables, resume, refusals."""

import csv
import io
import json

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
pytest.importorskip("torch")

from napari_nuclei_edges.classification import (  # noqa: E402
    FEATURES,
    fit_classifier,
    measure,
    predict,
    save_classifier,
)
from napari_nuclei_edges.data import synthetic_nuclei  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny feature model and a tiny CNN, saved as the dock saves them."""
    folder = tmp_path_factory.mktemp("models")
    data = synthetic_nuclei(n_per_class=5, seed=3)
    *_, features = fit_classifier(data, model="features", epochs=15)
    *_, cnn = fit_classifier(data, model="cnn", epochs=1, layers=1, channels=4)
    return {
        "features": (save_classifier(folder / "features", features.model), features.model),
        "cnn": (save_classifier(folder / "cnn", cnn.model), cnn.model),
    }


def rows(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_measure_and_classify_an_npz_into_columns_and_csv(tmp_path, stack, h, capsys, models):
    weights, model = models["features"]
    np.savez(tmp_path / "in.npz", first=stack[:6], second=stack[6:])
    out = tmp_path / "out.zarr"
    steps = ("--steps", "classify,measure", "--model", weights)
    code, printed, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", out, *steps)
    assert (code, err) == (0, "")
    assert f"{out}/measurements.csv: 10 images, one row each." in printed
    assert f"{out}/predictions.csv: 10 images, one row each." in printed
    root = zarr.open_group(str(out), mode="r")
    expected = measure(stack)
    for name in ("label", *FEATURES):  # one array per column, indexed by slot
        np.testing.assert_allclose(root[f"measurements/{name}"][:], expected[name], err_msg=name)
    whole = predict(model, stack)
    assert root["predictions/class"].attrs["class_names"] == list(model.class_names)
    assert root["predictions/class"][:].tolist() == whole.indices.tolist()
    np.testing.assert_allclose(root["predictions/confidence"][:], whole.confidence, rtol=1e-5)
    np.testing.assert_allclose(
        root["predictions/p_metaphase"][:], whole.probabilities[:, 2], rtol=1e-5
    )
    record = root.attrs["napari_nuclei_edges"]
    assert record["steps"] == ["measure", "classify"] and record["model"] == str(weights)

    table = rows(out / "predictions.csv")
    assert list(table[0]) == ["name", "slot", "predicted_class", "confidence"] + [
        f"p_{name}" for name in model.class_names
    ]
    assert [r["name"] for r in table] == [f"first/{i:04d}" for i in range(6)] + [
        f"second/{i:04d}" for i in range(4)
    ]
    assert [r["predicted_class"] for r in table] == whole.labels.tolist()
    assert [float(r["p_anaphase"]) for r in table] == pytest.approx(
        whole.probabilities[:, 3].tolist(), rel=1e-4
    )
    measured = rows(out / "measurements.csv")
    assert [int(r["slot"]) for r in measured] == list(range(10))
    assert [float(r["area"]) for r in measured] == expected["area"].tolist()


def test_a_resumed_run_measures_only_the_new_images_and_writes_the_full_csv(
    tmp_path, stack, h, capsys, models, monkeypatch
):
    from napari_nuclei_edges.classification import batch_steps

    measured_images = []
    original = batch_steps.block_tables

    def counting(block, **options):
        measured_images.append(len(block))
        return original(block, **options)

    monkeypatch.setattr(batch_steps, "block_tables", counting)
    weights, model = models["features"]
    folder = h.write_pngs(tmp_path / "in", stack[:6], [f"img{i}.png" for i in range(6)])
    out = tmp_path / "out.zarr"
    args = (folder, "--out", out, "--steps", "measure,classify", "--model", weights)
    assert h.run_cli(capsys, *args)[0] == 0
    assert sum(measured_images) == 6
    h.write_pngs(folder, stack[6:], [f"new{i}.png" for i in range(6, 10)])
    (folder / "img2.png").unlink()
    code, printed, _ = h.run_cli(capsys, *args)
    assert code == 0
    assert "found 4 new, 0 changed, 1 gone" in printed
    assert "4 images processed, 5 already done" in printed
    assert sum(measured_images) == 10  # only the new ones computed
    names = [f"img{i}.png" for i in (0, 1, 3, 4, 5)] + [f"new{i}.png" for i in range(6, 10)]
    for table in ("measurements", "predictions"):
        listed = rows(out / f"{table}.csv")
        # every image of the input, the resumed ones included; the gone one left out
        assert sorted(r["name"] for r in listed) == sorted(names), table
    by_name = {r["name"]: r for r in rows(out / "measurements.csv")}
    expected = measure(stack)
    for i in (0, 7):
        name = f"img{i}.png" if i < 6 else f"new{i}.png"
        assert float(by_name[name]["area"]) == expected["area"][i]
    predicted = {r["name"]: r["predicted_class"] for r in rows(out / "predictions.csv")}
    assert predicted["new9.png"] == predict(model, stack[9:]).labels[0]
    # nothing new: nothing computed, the CSV written again all the same
    (out / "predictions.csv").unlink()
    code, printed, _ = h.run_cli(capsys, *args)
    assert code == 0 and "Nothing to do" in printed and sum(measured_images) == 10
    assert len(rows(out / "predictions.csv")) == 9


def test_a_constant_image_gets_a_nan_row_and_a_nan_pixel_image_is_skipped(
    tmp_path, stack, h, capsys
):
    images = stack.astype(np.float32)
    images[3] = 5.0  # constant: no nucleus
    images[6, 10, 10] = np.nan
    array = zarr.create_array(str(tmp_path / "in.zarr"), shape=images.shape,
                              chunks=(4, 80, 80), dtype="float32")  # fmt: skip
    array[:] = images
    out = tmp_path / "out.zarr"
    code, printed, _ = h.run_cli(capsys, tmp_path / "in.zarr", "--out", out, "--steps", "measure")
    assert code == 1
    assert "1 image skipped:\n  in.zarr[6]: measure: Some images contain NaN pixels" in printed
    root = zarr.open_group(str(out), mode="r")
    area = root["measurements/area"][:]
    assert np.isnan(area[3]) and root["measurements/label"][3] == 0
    assert root["measurements/object_count"][3] == 0
    keep = [i for i in range(10) if i not in (3, 6)]
    np.testing.assert_allclose(area[keep], measure(stack[keep])["area"])
    assert root["done"][:].tolist() == [1] * 6 + [0] + [1] * 3
    table = rows(out / "measurements.csv")
    assert [r["name"] for r in table] == [f"in.zarr[{i}]" for i in range(10) if i != 6]
    assert table[3]["area"] == "" and table[3]["object_count"] == "0"


def test_the_cnn_alone_classifies_without_measuring(tmp_path, stack, h, capsys, models):
    weights, model = models["cnn"]
    h.write_pngs(tmp_path / "in", stack, [f"{i}.png" for i in range(10)])
    out = tmp_path / "out.zarr"
    code, _, _ = h.run_cli(
        capsys, tmp_path / "in", "--out", out, "--steps", "classify", "--model", weights
    )
    assert code == 0 and not (out / "measurements.csv").exists()
    root = zarr.open_group(str(out), mode="r")
    assert "measurements" not in root
    np.testing.assert_allclose(
        root["predictions/p_interphase"][:], predict(model, stack).probabilities[:, 0], rtol=1e-4
    )


def _bad_models(tmp_path, weights):
    foreign = tmp_path / "foreign"
    foreign.with_suffix(".json").write_text('{"format": "something else"}')
    foreign.with_suffix(".pt").write_bytes(weights.read_bytes())
    damaged = tmp_path / "damaged"
    damaged.with_suffix(".json").write_text(weights.with_suffix(".json").read_text())
    damaged.with_suffix(".pt").write_bytes(b"not torch at all")
    tampered = tmp_path / "tampered"  # a shared model's .json edited: once a KeyError
    info = json.loads(weights.with_suffix(".json").read_text())
    del info["feature_mean"]
    tampered.with_suffix(".json").write_text(json.dumps(info))
    tampered.with_suffix(".pt").write_bytes(weights.read_bytes())
    zero = tmp_path / "zero"  # feature_std all zero: once NaN, every image the first class
    info = json.loads(weights.with_suffix(".json").read_text())
    info["feature_std"] = [0.0] * len(info["feature_std"])
    zero.with_suffix(".json").write_text(json.dumps(info))
    zero.with_suffix(".pt").write_bytes(weights.read_bytes())
    return {
        tmp_path / "missing.pt": "is not a saved classifier",
        foreign.with_suffix(".pt"): "was not written by this plugin's classifier",
        damaged.with_suffix(".pt"): "is not a weights file this plugin saved",
        tampered.with_suffix(".pt"): "tampered.json lacks feature_mean",
        zero.with_suffix(".pt"): "feature_std holds zeros",
    }


def test_a_bad_model_is_refused_in_a_sentence_and_nothing_is_written(
    tmp_path, stack, h, capsys, models
):
    weights, _ = models["features"]
    np.savez(tmp_path / "in.npz", images=stack)
    out = tmp_path / "out.zarr"
    for path, why in _bad_models(tmp_path, weights).items():
        code, printed, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", out,
                                       "--steps", "measure,classify", "--model", path)  # fmt: skip
        assert code == 2 and printed == ""
        assert err.startswith(f"napari-nuclei-edges batch: --model {path}: ") and why in err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert not out.exists()
    code, _, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", out, "--steps", "classify")
    assert code == 2 and "--steps classify needs --model PATH" in err and not out.exists()
    code, _, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", out, "--model", weights)
    assert code == 2 and "--model is read only by the classify step" in err
    assert not out.exists()


def test_a_cnn_for_another_size_is_refused_before_anything_is_written(tmp_path, h, capsys, models):
    weights, _ = models["cnn"]  # trained on 80 x 80
    np.savez(tmp_path / "in.npz", images=synthetic_nuclei(n_per_class=1, size=40)["anaphase"])
    out = tmp_path / "out.zarr"
    code, _, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", out, "--steps", "classify",
                             "--model", weights)  # fmt: skip
    assert code == 2 and "the model was trained on 80 × 80 images, not 40 × 40" in err
    assert not out.exists()


def test_another_model_on_resume_is_refused_and_the_same_one_moved_is_not(
    tmp_path, stack, h, capsys, models
):
    weights, _ = models["features"]
    np.savez(tmp_path / "in.npz", images=stack)
    out = tmp_path / "out.zarr"
    args = (tmp_path / "in.npz", "--out", out, "--steps", "classify")
    assert h.run_cli(capsys, *args, "--model", weights)[0] == 0
    before = h.snapshot(out)
    code, _, err = h.run_cli(capsys, *args, "--model", models["cnn"][0])
    assert code == 2 and err.count("\n") == 1
    assert f"was made with --model {weights}, not {models['cnn'][0]}" in err
    assert h.snapshot(out) == before
    # a retrained model under the same name is another model
    retrained = tmp_path / "mine"
    *_, other = fit_classifier(synthetic_nuclei(n_per_class=4, seed=9), model="features",
                               epochs=3)  # fmt: skip
    save_classifier(retrained, other.model)
    fresh = tmp_path / "fresh.zarr"
    assert h.run_cli(capsys, tmp_path / "in.npz", "--out", fresh, "--steps", "classify",
                     "--model", retrained)[0] == 0  # fmt: skip
    *_, again = fit_classifier(synthetic_nuclei(n_per_class=4, seed=10), model="features",
                               epochs=3)  # fmt: skip
    save_classifier(retrained, again.model)
    code, _, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", fresh, "--steps", "classify",
                             "--model", retrained)  # fmt: skip
    assert code == 2 and "which has changed since" in err
    # the same files elsewhere: the same model
    moved = tmp_path / "moved"
    moved.mkdir()
    for part in (weights, weights.with_suffix(".json")):
        (moved / part.name).write_bytes(part.read_bytes())
    code, printed, _ = h.run_cli(capsys, *args, "--model", moved / weights.name)
    assert code == 0 and "Nothing to do" in printed


def test_classify_on_a_local_distributed_cluster(tmp_path, stack, models):
    distributed = pytest.importorskip("distributed")
    from napari_nuclei_edges.batch import run_batch

    weights, model = models["features"]
    np.savez(tmp_path / "in.npz", images=stack)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:  # fmt: skip
        result = run_batch(tmp_path / "in.npz", tmp_path / "out.zarr",
                           steps=("measure", "classify"), model=weights,
                           scheduler=cluster.scheduler_address, progress=False)  # fmt: skip
    assert (result.processed, result.failed) == (10, {})
    root = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")
    assert root["predictions/class"][:].tolist() == predict(model, stack).indices.tolist()
    np.testing.assert_allclose(root["measurements/area"][:], measure(stack)["area"])


def test_a_changed_image_is_measured_again_and_a_removed_one_cleared(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack[:6], [f"img{i}.png" for i in range(6)])
    out = tmp_path / "out.zarr"
    assert h.run_cli(capsys, folder, "--out", out, "--steps", "measure")[0] == 0
    h.write_pngs(folder, [stack[9]], ["img1.png"])
    (folder / "img4.png").unlink()
    code, printed, _ = h.run_cli(capsys, folder, "--out", out, "--steps", "measure",
                                 "--gone", "remove")  # fmt: skip
    assert code == 0 and "found 0 new, 1 changed, 1 gone (their outputs removed)" in printed
    root = zarr.open_group(str(out), mode="r")
    area = root["measurements/area"][:]
    assert area[1] == measure(stack[9])["area"][0] and np.isnan(area[4])
    assert root["measurements/label"][4] == 0
    table = {r["name"]: float(r["area"]) for r in rows(out / "measurements.csv")}
    assert sorted(table) == [f"img{i}.png" for i in (0, 1, 2, 3, 5)]
    assert table["img1.png"] == measure(stack[9])["area"][0]


@pytest.mark.parametrize("kind", ["features", "cnn"])
def test_a_run_killed_mid_way_resumes_to_bit_identical_probabilities(tmp_path, h, capsys, models,
                                                                      kind):  # fmt: skip
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    weights, _ = models[kind]
    images = np.concatenate(list(synthetic_nuclei(n_per_class=9, seed=5).values()))  # 45
    np.savez(tmp_path / "in.npz", images=images)
    steps = ("--steps", "classify", "--model", str(weights))
    whole = tmp_path / "whole.zarr"
    assert h.run_cli(capsys, tmp_path / "in.npz", "--out", whole, *steps)[0] == 0
    killed = tmp_path / "killed.zarr"
    code = f"""
        import os, signal
        from napari_nuclei_edges.batch import _tasks
        _tasks.BLOCK_PIXELS = 80 * 80  # blocks of one image, not of all 45
        write, calls = _tasks._compute_and_write, [0]
        def write_then_die(*args):
            result = write(*args)
            calls[0] += 1
            if calls[0] == 9:
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        _tasks._compute_and_write = write_then_die
        from napari_nuclei_edges._cli import main
        main(["batch", {str(tmp_path / "in.npz")!r}, "--out", {str(killed)!r},
              *{list(steps)!r}, "--quiet"])
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == -signal.SIGKILL, run.stderr
    done = zarr.open_group(str(killed), mode="r")["done"][:]
    assert 0 < done.sum() < len(images)  # it stopped part way
    code, printed, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", killed, *steps)
    assert (code, err) == (0, ""), err
    assert f"{len(images) - done.sum()} images processed, {done.sum()} already done" in printed
    first, again = zarr.open_group(str(whole), mode="r"), zarr.open_group(str(killed), mode="r")
    for name in first["predictions"].array_keys():
        np.testing.assert_array_equal(again[f"predictions/{name}"][:],
                                      first[f"predictions/{name}"][:], err_msg=name)  # fmt: skip
