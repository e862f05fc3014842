import time

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

from napari_nuclei_edges import batch  # noqa: E402
from napari_nuclei_edges._cli import main  # noqa: E402
from napari_nuclei_edges.batch import run_batch  # noqa: E402
from napari_nuclei_edges.data import synthetic_nuclei  # noqa: E402
from napari_nuclei_edges.gradients import sobel  # noqa: E402
from napari_nuclei_edges.intensity import auto_threshold  # noqa: E402
from napari_nuclei_edges.segmentation import segment, segment_nuclei  # noqa: E402

ALL = ("sobel", "threshold", "labels")


@pytest.fixture(scope="module")
def stack():
    images = synthetic_nuclei(n_per_class=2)
    return np.concatenate(list(images.values()))  # (10, 80, 80) uint8


@pytest.fixture
def zarr_input(tmp_path, stack):
    array = zarr.create_array(str(tmp_path / "in.zarr"), shape=stack.shape,
                              chunks=(1, *stack.shape[1:]), dtype=stack.dtype)  # fmt: skip
    array[:] = stack
    return tmp_path / "in.zarr"


def check_outputs(out, stack, threshold):
    root = zarr.open_group(str(out), mode="r")
    expected = sobel(stack)
    for name, values in zip(batch.SOBEL_OUTPUTS, expected, strict=True):
        np.testing.assert_array_equal(root[name][:], values)
    np.testing.assert_array_equal(root["mask"][:], segment(stack, threshold))
    labels = np.stack([segment_nuclei(image, threshold=threshold) for image in stack])
    np.testing.assert_array_equal(root["labels"][:], labels)
    assert root["sobel_gx"].chunks == (1, 80, 80)
    assert root["done"][:].all()
    return root


def test_batch_on_a_local_distributed_cluster_equals_the_in_memory_result(zarr_input, stack,
                                                                          tmp_path):  # fmt: skip
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:  # fmt: skip
        result = run_batch(zarr_input, tmp_path / "out.zarr", steps=ALL,
                           scheduler=cluster.scheduler_address, progress=False)  # fmt: skip
    threshold = auto_threshold(stack, "otsu")
    assert result.threshold == threshold
    assert (result.processed, result.skipped, result.failed) == (10, 0, {})
    root = check_outputs(tmp_path / "out.zarr", stack, threshold)
    params = root.attrs["napari_nuclei_edges"]
    assert params["steps"] == list(ALL) and params["threshold"] == threshold
    assert params["names"][0] == "in.zarr[0]"


def test_an_interrupted_batch_resumes_where_it_stopped(zarr_input, stack, tmp_path,
                                                       monkeypatch):  # fmt: skip
    original = batch._process_block

    def dies_at_the_last(job, start, stop):
        if stop == 10:
            time.sleep(0.5)  # the other thread gets on with the rest meanwhile
            raise KeyboardInterrupt  # the machine going down mid-run
        return original(job, start, stop)

    monkeypatch.setattr(batch, "_process_block", dies_at_the_last)
    with pytest.raises(KeyboardInterrupt):
        run_batch(zarr_input, tmp_path / "out.zarr", steps=ALL, progress=False)
    monkeypatch.undo()
    done = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")["done"][:]
    assert 0 < done.sum() < 10
    result = run_batch(zarr_input, tmp_path / "out.zarr", steps=ALL, progress=False)
    assert result.skipped == done.sum() and result.processed == 10 - done.sum()
    check_outputs(tmp_path / "out.zarr", stack, auto_threshold(stack, "otsu"))


def test_a_bad_image_is_reported_by_name_and_skipped(tmp_path, stack, capsys):
    import imageio.v3 as iio

    folder = tmp_path / "images"
    for name in ("metaphase", "anaphase"):
        (folder / name).mkdir(parents=True)
    for i, image in enumerate(stack[:6]):
        iio.imwrite(folder / ("metaphase" if i < 3 else "anaphase") / f"{i:02d}.png", image)
    (folder / "anaphase" / "07.png").write_bytes(b"not a png at all")
    iio.imwrite(folder / "anaphase" / "08.png", np.zeros((40, 40), np.uint8))
    code = main(["batch", str(folder), "--out", str(tmp_path / "out.zarr"),
                 "--steps", "sobel,threshold", "--threshold", "60", "--quiet"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 1
    assert "6 images processed" in printed
    assert "skipped anaphase/07.png: unreadable" in printed
    assert "skipped anaphase/08.png: 40 × 40, not 80 × 80 like the others" in printed
    root = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")
    names = root.attrs["napari_nuclei_edges"]["names"]
    good = [names.index(f"{c}/{i:02d}.png") for c, i in
            [("metaphase", 0), ("metaphase", 1), ("metaphase", 2), ("anaphase", 3),
             ("anaphase", 4), ("anaphase", 5)]]  # fmt: skip
    np.testing.assert_array_equal(root["sobel_magnitude"][good], sobel(stack[:6]).magnitude)
    np.testing.assert_array_equal(root["mask"][good], segment(stack[:6], 60))
    assert root["done"][:].sum() == 6


def test_npz_input_and_a_fixed_threshold_from_the_command_line(tmp_path, stack, capsys):
    np.savez(tmp_path / "classes.npz", a=stack[:4], b=stack[4:])
    code = main(["batch", str(tmp_path / "classes.npz"), "--out", str(tmp_path / "o.zarr"),
                 "--steps", "threshold", "--threshold", "80", "--quiet"])  # fmt: skip
    assert code == 0
    root = zarr.open_group(str(tmp_path / "o.zarr"), mode="r")
    np.testing.assert_array_equal(root["mask"][:], segment(stack, 80))
    assert "sobel_gx" not in root
    assert root.attrs["napari_nuclei_edges"]["names"][4] == "b/0000"


def test_resuming_with_other_parameters_is_refused(zarr_input, tmp_path, capsys):
    out = tmp_path / "out.zarr"
    assert main(["batch", str(zarr_input), "--out", str(out), "--quiet"]) == 0
    code = main(["batch", str(zarr_input), "--out", str(out), "--padding", "zeros", "--quiet"])
    assert code == 2
    assert "was made with other parameters" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["batch", "missing.zarr", "--out", "x.zarr"], "no such file or folder"),
        (["batch", "{input}", "--out", "{out}", "--steps", "blur"], "steps must be some of"),
        (
            ["batch", "{input}", "--out", "{out}", "--steps", "threshold", "--threshold", "high"],
            "--threshold must be a number or one of",
        ),
    ],
)
def test_bad_arguments_get_a_sentence(zarr_input, tmp_path, capsys, argv, words):
    argv = [a.format(input=zarr_input, out=tmp_path / "o.zarr") for a in argv]
    assert main([*argv, "--quiet"]) == 2
    assert words in capsys.readouterr().err
