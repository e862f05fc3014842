"""No kernel file can break anything: each malformed one is refused with a sentence naming it."""

import json
import os

import numpy as np
import pytest

from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y
from napari_nuclei_edges.training import apply_kernel
from napari_nuclei_edges.training.kernel_io import fiji_kernel_text, load_kernel, save_kernel

PAIR = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None].astype(np.float64)


def _npy(folder, name, array):
    path = folder / f"{name}.npy"
    np.save(path, array)
    return path


def _raw(path, content: bytes):
    path.write_bytes(content)
    return path


def _truncated(folder):
    path = _npy(folder, "truncated", np.ones((1, 1, 3, 3)))
    path.write_bytes(path.read_bytes()[:-20])
    return path


def _with_sidecar(folder, name, sidecar_text, kernel=PAIR):
    path = _npy(folder, name, kernel)
    (folder / f"{name}.json").write_text(sidecar_text)
    return path


MALFORMED = {
    "empty": (lambda f: _raw(f / "empty.npy", b""), "it is empty"),
    "not npy": (lambda f: _raw(f / "text.npy", b"1 2 3"), "not a readable .npy"),
    "truncated": (_truncated, "not a readable .npy"),
    "pickled objects": (lambda f: _pickled(f), "not a readable .npy"),
    "strings": (lambda f: _npy(f, "strings", np.array([["a"] * 3] * 3)), "not numbers"),
    "complex": (lambda f: _npy(f, "complex", np.ones((3, 3), complex)), "complex"),
    "nan": (lambda f: _npy(f, "nan", np.full((3, 3), np.nan)), "NaN or inf"),
    "inf": (lambda f: _npy(f, "inf", np.full((1, 1, 3, 3), np.inf)), "NaN or inf"),
    "1d": (lambda f: _npy(f, "line", np.ones(9)), "odd square kernel"),
    "even": (lambda f: _npy(f, "even", np.ones((4, 4))), "odd square kernel"),
    "not square": (lambda f: _npy(f, "oblong", np.ones((1, 1, 3, 5))), "odd square kernel"),
    "empty kernel": (lambda f: _npy(f, "none", np.ones((0, 1, 3, 3))), "is empty"),
    "too large": (lambda f: _npy(f, "huge", np.ones((2001, 2001))), "up to 15 × 15"),
    "json list": (lambda f: _with_sidecar(f, "list", "[1, 2]"), "must hold a JSON object"),
    "json broken": (lambda f: _with_sidecar(f, "broken", "{'bias':"), "not valid JSON"),
    "bias dict": (lambda f: _with_sidecar(f, "bdict", '{"bias": {"a": 1}}'), "bias in bdict.json"),
    "bias string": (lambda f: _with_sidecar(f, "bstr", '{"bias": "zero"}'), "must be numbers"),
    "bias count": (lambda f: _with_sidecar(f, "bcount", '{"bias": [1, 2, 3, 4, 5]}'),
                   "holds 5 values for 2 output channels"),
    "bias nan": (lambda f: _with_sidecar(f, "bnan", '{"bias": [NaN, 1]}'), "NaN or inf"),
}  # fmt: skip


def _pickled(folder):
    path = folder / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return path


@pytest.mark.parametrize("case", list(MALFORMED))
def test_every_malformed_file_is_refused_with_a_sentence_naming_it(tmp_path, case):
    make, words = MALFORMED[case]
    path = make(tmp_path)
    with pytest.raises(ValueError, match=words) as caught:
        load_kernel(path)
    assert path.stem in str(caught.value)  # names the file


def test_a_bias_for_each_output_and_integer_kernels_load(tmp_path):
    path = _with_sidecar(tmp_path, "ok", '{"bias": [1, -2], "note": "fine"}')
    weight, bias, meta = load_kernel(path)
    assert weight.dtype == np.float64 and np.array_equal(weight, PAIR)
    assert bias.tolist() == [1.0, -2.0] and meta["note"] == "fine"
    np.save(tmp_path / "int.npy", np.arange(9).reshape(3, 3))
    assert load_kernel(tmp_path / "int.npy")[0].shape == (1, 1, 3, 3)


def test_save_writes_both_files_or_neither(tmp_path):
    save_kernel(tmp_path / "k", PAIR, bias=[1.0, 2.0], metadata={"run": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ValueError, match="cannot be saved as JSON"):
        save_kernel(tmp_path / "k", -PAIR, bias=[3.0, 4.0], metadata={"run": object()})
    with pytest.raises(ValueError, match="cannot be saved as JSON"):
        save_kernel(tmp_path / "k", -PAIR, metadata={"loss": float("nan")})
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # the old pair untouched, no temporary file left
    weight, bias, meta = load_kernel(tmp_path / "k.npy")
    assert np.array_equal(weight, PAIR) and bias.tolist() == [1.0, 2.0] and meta["run"] == 1


def test_a_failing_rename_leaves_the_old_pair_and_no_temporary_file(tmp_path, monkeypatch):
    save_kernel(tmp_path / "k", PAIR, bias=[1.0, 2.0])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def refuse(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        save_kernel(tmp_path / "k", -PAIR, bias=[3.0, 4.0])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_metadata_cannot_overwrite_the_bias_or_the_shape(tmp_path):
    for key in ("bias", "shape", "plugin_version"):
        with pytest.raises(ValueError, match=f"metadata cannot set {key}"):
            save_kernel(tmp_path / "k", PAIR, bias=[1.0, 2.0], metadata={key: [9, 9]})
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("weight", "bias", "words"),
    [
        (np.full((3, 3), np.nan), None, "NaN or inf"),
        (np.ones((3, 3), complex), None, "complex"),
        (np.ones((4, 4)), None, "odd square"),
        (PAIR, [1.0], "holds 1 value for 2 output channels"),
        (PAIR, [1.0, np.inf], "NaN or inf"),
    ],
)
def test_save_refuses_what_load_would_refuse(tmp_path, weight, bias, words):
    with pytest.raises(ValueError, match=words):
        save_kernel(tmp_path / "k", weight, bias=bias)
    assert not list(tmp_path.iterdir())


def test_fiji_text_refuses_non_finite_kernels():
    for bad in (np.nan, np.inf):
        kernel = SOBEL_X.numpy().astype(np.float64)
        kernel[1, 1] = bad
        with pytest.raises(ValueError, match="NaN or inf, which Fiji cannot read"):
            fiji_kernel_text(kernel)


def test_apply_refuses_complex_and_non_finite_kernels_and_biases():
    image = np.random.default_rng(0).random((16, 16))
    with pytest.raises(TypeError, match="real numbers, not complex"):
        apply_kernel(image, np.ones((3, 3), complex))
    with pytest.raises(ValueError, match="NaN or inf"):
        apply_kernel(image, np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="bias must be finite"):
        apply_kernel(image, np.ones((3, 3)), bias=[np.nan])


def test_saved_metadata_is_plain_json(tmp_path):
    save_kernel(tmp_path / "k", PAIR, metadata={"error": {"max_abs": np.float32(0.5)}})
    info = json.loads((tmp_path / "k.json").read_text())
    assert info["error"] == {"max_abs": 0.5} and info["shape"] == [2, 1, 3, 3]
