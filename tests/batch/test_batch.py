"""The batch command computes what the plugin computes, on threads or a cluster, and resumes."""

import time

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

from napari_nuclei_edges.batch import _tasks, run_batch  # noqa: E402
from napari_nuclei_edges.gradients import sobel  # noqa: E402
from napari_nuclei_edges.intensity import auto_threshold  # noqa: E402
from napari_nuclei_edges.segmentation import segment, segment_nuclei  # noqa: E402

ALL = ("sobel", "threshold", "labels")


@pytest.fixture
def zarr_input(tmp_path, stack):
    array = zarr.create_array(
        str(tmp_path / "in.zarr"),
        shape=stack.shape,
        chunks=(1, *stack.shape[1:]),
        dtype=stack.dtype,
    )
    array[:] = stack
    return tmp_path / "in.zarr"


def _done(out):
    try:
        return zarr.open_group(str(out), mode="r")["done"][:]
    except (KeyError, FileNotFoundError):
        return np.zeros(1, np.uint8)


def check_outputs(out, stack, threshold, rule="per_image"):
    root = zarr.open_group(str(out), mode="r")
    for name, values in zip(_tasks.SOBEL_OUTPUTS, sobel(stack), strict=True):
        np.testing.assert_array_equal(root[name][:], values)
    np.testing.assert_array_equal(root["mask"][:], segment(stack, threshold))
    if rule == "per_image":
        labels = [segment_nuclei(image, method="otsu", rule="per_image") for image in stack]
    else:
        labels = [segment_nuclei(image, threshold=threshold, rule="global") for image in stack]
    np.testing.assert_array_equal(root["labels"][:], np.stack(labels))
    assert root["sobel_gx"].chunks == (1, 80, 80)
    assert root["done"][:].all()
    return root


def test_batch_on_a_local_distributed_cluster_equals_the_in_memory_result(
    zarr_input, stack, tmp_path
):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
    ) as cluster:
        result = run_batch(
            zarr_input,
            tmp_path / "out.zarr",
            steps=ALL,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    threshold = auto_threshold(stack, "otsu")
    assert result.threshold == threshold
    assert (result.processed, result.already_done, result.failed) == (10, 0, {})
    root = check_outputs(tmp_path / "out.zarr", stack, threshold)
    params = root.attrs["napari_nuclei_edges"]
    assert params["steps"] == list(ALL) and params["threshold_value"] == threshold
    assert params["threshold"] == "otsu" and params["rule"] == "per_image"
    assert params["names"][0] == "in.zarr[0]"


def test_the_global_rule_labels_every_image_at_the_pooled_threshold(zarr_input, stack, tmp_path):
    result = run_batch(zarr_input, tmp_path / "out.zarr", steps=ALL, rule="global", progress=False)
    check_outputs(tmp_path / "out.zarr", stack, result.threshold, rule="global")
    # the rules differ on this data: the choice is real
    per_image = [segment_nuclei(image, method="otsu", rule="per_image") for image in stack]
    assert not np.array_equal(
        zarr.open_group(str(tmp_path / "out.zarr"))["labels"][:], np.stack(per_image)
    )


def test_an_interrupted_batch_resumes_where_it_stopped(zarr_input, stack, tmp_path, monkeypatch):
    original = _tasks.process

    def dies_at_the_last(job, items):
        if items[-1][0] == 9:
            deadline = time.monotonic() + 30  # the other thread gets on with the rest meanwhile
            while time.monotonic() < deadline and not _done(tmp_path / "out.zarr").any():
                time.sleep(0.05)
            raise KeyboardInterrupt  # the machine going down mid-run
        return original(job, items)

    monkeypatch.setattr(_tasks, "process", dies_at_the_last)
    with pytest.raises(KeyboardInterrupt):
        run_batch(zarr_input, tmp_path / "out.zarr", steps=ALL, progress=False)
    monkeypatch.undo()
    done = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")["done"][:]
    assert 0 < done.sum() < 10
    result = run_batch(zarr_input, tmp_path / "out.zarr", steps=ALL, progress=False)
    # dask's threads may finish the tasks they had begun after the interrupt: at least the
    # images done then are not done again, and the dying task's two are done now
    assert result.already_done >= done.sum() and result.processed >= 2
    assert result.already_done + result.processed == 10
    assert (result.new, result.changed, result.gone) == ([], [], [])
    root = check_outputs(tmp_path / "out.zarr", stack, auto_threshold(stack, "otsu"))
    clean = tmp_path / "clean.zarr"
    run_batch(zarr_input, clean, steps=ALL, progress=False)
    for name in root.array_keys():  # identical to a run that was never stopped
        np.testing.assert_array_equal(root[name][:], zarr.open_group(str(clean))[name][:])


def test_a_bad_image_is_reported_by_name_and_skipped(tmp_path, stack, h, capsys):
    folder = tmp_path / "images"
    h.write_pngs(
        folder,
        stack[:6],
        [f"{'metaphase' if i < 3 else 'anaphase'}/{i:02d}.png" for i in range(6)],
    )
    (folder / "anaphase" / "07.png").write_bytes(b"not a png at all")
    h.write_pngs(folder, [np.zeros((40, 40), np.uint8)], ["anaphase/08.png"])
    code, printed, _ = h.run_cli(
        capsys,
        folder,
        "--out",
        tmp_path / "out.zarr",
        "--steps",
        "sobel,threshold",
        "--threshold",
        "60",
    )
    assert code == 1
    assert "6 images processed" in printed
    assert "2 images skipped:" in printed
    assert "  anaphase/07.png: unreadable" in printed
    assert "  anaphase/08.png: 40 × 40, not 80 × 80 like the others" in printed
    record, arrays = h.stored(tmp_path / "out.zarr")
    names = record["names"]
    assert len(names) == 6 and "anaphase/08.png" not in names  # a slot per good image only
    order = [
        names.index(f"{c}/{i:02d}.png")
        for c, i in [
            ("metaphase", 0),
            ("metaphase", 1),
            ("metaphase", 2),
            ("anaphase", 3),
            ("anaphase", 4),
            ("anaphase", 5),
        ]
    ]
    np.testing.assert_array_equal(arrays["sobel_magnitude"][order], sobel(stack[:6]).magnitude)
    np.testing.assert_array_equal(arrays["mask"][order], segment(stack[:6], 60))
    assert arrays["done"].sum() == 6
    assert set(record["skipped"]) == {"anaphase/07.png", "anaphase/08.png"}


def test_npz_input_and_a_fixed_threshold_from_the_command_line(tmp_path, stack, h, capsys):
    np.savez_compressed(tmp_path / "classes.npz", a=stack[:4], b=stack[4:])
    code, printed, _ = h.run_cli(
        capsys,
        tmp_path / "classes.npz",
        "--out",
        tmp_path / "o.zarr",
        "--steps",
        "threshold,labels",
        "--threshold",
        "80",
    )
    assert code == 0, printed
    record, arrays = h.stored(tmp_path / "o.zarr")
    np.testing.assert_array_equal(arrays["mask"], segment(stack, 80))
    labels = [segment_nuclei(image, threshold=80, rule="global") for image in stack]
    np.testing.assert_array_equal(arrays["labels"], np.stack(labels))
    assert "sobel_gx" not in arrays
    assert record["names"][4] == "b/0000"
    assert record["rule"] is None  # a value is one threshold for every image


def test_valid_padding_stores_smaller_gradients(zarr_input, stack, tmp_path):
    run_batch(zarr_input, tmp_path / "v.zarr", padding="valid", progress=False)
    root = zarr.open_group(str(tmp_path / "v.zarr"), mode="r")
    assert root["sobel_gx"].shape == (10, 78, 78)
    np.testing.assert_array_equal(root["sobel_gx"][:], sobel(stack, padding="valid").gx)
