"""A re-run matches images by identity: new and changed ones are done, none is relabelled."""

import os

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

from napari_nuclei_edges.batch import run_batch  # noqa: E402
from napari_nuclei_edges.gradients import sobel  # noqa: E402


def by_name(h, out) -> dict[str, np.ndarray]:
    """Each stored image name with its Sobel magnitude (only slots that are done)."""
    record, arrays = h.stored(out)
    return {
        name: arrays["sobel_magnitude"][slot]
        for slot, name in enumerate(record["names"])
        if name is not None and arrays["done"][slot]
    }


def assert_labelled_right(h, out, images: dict[str, np.ndarray]):
    stored = by_name(h, out)
    for name, image in images.items():
        np.testing.assert_array_equal(stored[name], sobel(image).magnitude, err_msg=name)


def test_three_added_one_removed(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack[1:7], [f"img{i}.png" for i in range(1, 7)])
    out = tmp_path / "out.zarr"
    assert h.run_cli(capsys, folder, "--out", out)[0] == 0
    h.write_pngs(folder, [stack[0], stack[7], stack[8]], ["img0.png", "img7.png", "img8.png"])
    (folder / "img4.png").unlink()
    code, printed, _ = h.run_cli(capsys, folder, "--out", out)
    assert code == 0
    lines = printed.splitlines()
    assert lines[0] == (
        f"{out}: found 3 new, 0 changed, 1 gone (their outputs kept; --gone "
        "remove drops them), 5 unchanged."
    )
    assert lines[1].startswith("3 images processed, 5 already done")
    record, arrays = h.stored(out)
    assert record["names"] == [f"img{i}.png" for i in (1, 2, 3, 4, 5, 6, 0, 7, 8)]
    assert [entry["gone"] for entry in record["images"]] == [False] * 3 + [True] + [False] * 5
    assert arrays["done"].tolist() == [1] * 9
    # every stored output belongs to the image its name says, the gone one included
    assert_labelled_right(h, out, {f"img{i}.png": stack[i] for i in range(9)})


def test_six_added_to_four(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack[:4], [f"a{i}.png" for i in range(4)])
    out = tmp_path / "out.zarr"
    assert h.run_cli(capsys, folder, "--out", out)[0] == 0
    h.write_pngs(folder, stack[4:], [f"b{i}.png" for i in range(4, 10)])
    code, printed, _ = h.run_cli(capsys, folder, "--out", out)
    assert code == 0 and "found 6 new, 0 changed, 0 gone, 4 unchanged." in printed
    assert "6 images processed, 4 already done" in printed
    _record, arrays = h.stored(out)
    assert arrays["sobel_gx"].shape == (10, 80, 80) and arrays["done"].all()
    assert_labelled_right(
        h,
        out,
        {
            **{f"a{i}.png": stack[i] for i in range(4)},
            **{f"b{i}.png": stack[i] for i in range(4, 10)},
        },
    )


def test_a_changed_image_is_done_again_in_its_slot(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack[:4], [f"img{i}.png" for i in range(4)])
    out = tmp_path / "out.zarr"
    assert h.run_cli(capsys, folder, "--out", out)[0] == 0
    h.write_pngs(folder, [stack[9]], ["img2.png"])
    code, printed, _ = h.run_cli(capsys, folder, "--out", out)
    assert code == 0 and "found 0 new, 1 changed, 0 gone, 3 unchanged." in printed
    assert "1 image processed, 3 already done" in printed
    record, _ = h.stored(out)
    assert record["names"] == [f"img{i}.png" for i in range(4)]
    assert_labelled_right(
        h,
        out,
        {"img0.png": stack[0], "img1.png": stack[1], "img2.png": stack[9], "img3.png": stack[3]},
    )


def test_an_unchanged_rerun_does_nothing_and_says_so(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack[:4], [f"img{i}.png" for i in range(4)])
    out = tmp_path / "out.zarr"
    assert h.run_cli(capsys, folder, "--out", out)[0] == 0
    before, times = h.snapshot(out), {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    code, printed, _ = h.run_cli(capsys, folder, "--out", out)
    assert code == 0
    assert printed.splitlines() == [
        f"{out}: found 0 new, 0 changed, 0 gone, 4 unchanged.",
        "Nothing to do: all 4 images are done.",
    ]
    assert h.snapshot(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == times  # not even rewritten


def test_gone_remove_frees_the_slot_and_a_new_image_takes_it(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack[:4], [f"img{i}.png" for i in range(4)])
    out = tmp_path / "out.zarr"
    assert h.run_cli(capsys, folder, "--out", out)[0] == 0
    (folder / "img1.png").unlink()
    code, printed, _ = h.run_cli(capsys, folder, "--out", out, "--gone", "remove")
    assert code == 0 and "1 gone (their outputs removed)" in printed
    record, arrays = h.stored(out)
    assert record["names"] == ["img0.png", None, "img2.png", "img3.png"]
    assert arrays["done"].tolist() == [1, 0, 1, 1]
    assert not arrays["sobel_magnitude"][1].any()
    h.write_pngs(folder, [stack[8]], ["new.png"])
    code, printed, _ = h.run_cli(capsys, folder, "--out", out)
    assert code == 0 and "found 1 new, 0 changed, 0 gone, 3 unchanged." in printed
    record, _ = h.stored(out)
    assert record["names"] == ["img0.png", "new.png", "img2.png", "img3.png"]
    assert_labelled_right(h, out, {"new.png": stack[8], "img3.png": stack[3]})


def test_an_image_broken_since_is_skipped_and_its_outputs_dropped(tmp_path, stack, h, capsys):
    folder = h.write_pngs(tmp_path / "in", stack[:3], [f"img{i}.png" for i in range(3)])
    out = tmp_path / "out.zarr"
    assert h.run_cli(capsys, folder, "--out", out)[0] == 0
    (folder / "img1.png").write_bytes(b"truncated")
    code, printed, _ = h.run_cli(capsys, folder, "--out", out)
    assert code == 1
    assert "found 0 new, 1 changed, 0 gone, 2 unchanged." in printed
    assert "1 image skipped:\n  img1.png: unreadable" in printed
    record, _ = h.stored(out)
    assert record["names"] == ["img0.png", None, "img2.png"]
    # mended, it is done again (and a bad image that stays bad is not read again)
    h.write_pngs(folder, [stack[1]], ["img1.png"])
    code, printed, _ = h.run_cli(capsys, folder, "--out", out)
    assert code == 0 and "found 1 new" in printed
    assert_labelled_right(h, out, {f"img{i}.png": stack[i] for i in range(3)})


def test_npz_members_are_identified_by_content(tmp_path, stack, h, capsys):
    path, out = tmp_path / "set.npz", tmp_path / "out.zarr"
    np.savez_compressed(path, a=stack[:3], b=stack[3:6])
    assert h.run_cli(capsys, path, "--out", out)[0] == 0
    os.utime(path, ns=(1, 1))  # touched, not changed: nothing to do
    code, printed, _ = h.run_cli(capsys, path, "--out", out)
    assert code == 0 and "Nothing to do: all 6 images are done." in printed
    changed = stack[:3].copy()
    changed[1] = stack[9]
    np.savez_compressed(path, a=changed, b=stack[3:6], c=stack[6:8])  # one changed, two new
    code, printed, _ = h.run_cli(capsys, path, "--out", out)
    assert code == 0 and "found 2 new, 1 changed, 0 gone, 5 unchanged." in printed
    record, _ = h.stored(out)
    assert record["names"] == [
        "a/0000",
        "a/0001",
        "a/0002",
        "b/0000",
        "b/0001",
        "b/0002",
        "c/0000",
        "c/0001",
    ]
    assert_labelled_right(h, out, {"a/0001": stack[9], "a/0002": stack[2], "c/0001": stack[7]})


def test_a_zarr_image_rewritten_in_place_is_changed(tmp_path, stack):
    source = zarr.create_array(
        str(tmp_path / "in.zarr"), shape=(4, 80, 80), chunks=(1, 80, 80), dtype="uint8"
    )
    source[:] = stack[:4]
    out = tmp_path / "out.zarr"
    run_batch(tmp_path / "in.zarr", out, progress=False)
    source[3] = stack[7]
    result = run_batch(tmp_path / "in.zarr", out, progress=False)
    assert result.changed == ["in.zarr[3]"] and result.processed == 1
    np.testing.assert_array_equal(
        zarr.open_group(str(out))["sobel_magnitude"][3], sobel(stack[7]).magnitude
    )
