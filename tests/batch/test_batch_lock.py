"""One run at a time on a store, a full disk in one sentence, and .npz names read one way."""

import io
import os
import signal
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

SRC = str(Path(__file__).parents[2] / "src")


def _python(code: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # fmt: skip


def test_a_second_run_is_refused_while_the_first_holds_the_store_and_a_killed_one_is_not(
    tmp_path, stack, h, capsys
):
    np.savez(tmp_path / "in.npz", images=stack)
    out = tmp_path / "out.zarr"
    first = _python(f"""
        from pathlib import Path
        from napari_nuclei_edges.batch._lock import holding
        with holding(Path({str(out)!r})):
            print("holding", flush=True)
            input()
    """, stdin=subprocess.PIPE)  # fmt: skip
    try:
        assert first.stdout.readline().strip() == "holding"
        code, printed, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", out)
        assert (code, printed) == (2, "")
        assert err.startswith(f"napari-nuclei-edges batch: --out {out} is being written by "
                              f"another batch run (process {first.pid} on ")  # fmt: skip
        assert "wait for it to finish" in err and err.count("\n") == 1
        assert not out.exists()
    finally:
        first.send_signal(signal.SIGKILL)  # killed: its lock file stays, held by no one
        first.wait()
    assert (tmp_path / ".out.zarr.lock").exists()
    code, printed, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", out)
    assert (code, err) == (0, "")
    assert printed.startswith(f"The lock left by a run that was stopped (process {first.pid} ")
    assert "10 images processed" in printed
    assert not (tmp_path / ".out.zarr.lock").exists()  # released at the end
    code, printed, _ = h.run_cli(capsys, tmp_path / "in.npz", "--out", out)
    assert code == 0 and "lock" not in printed


def test_a_full_disk_is_one_sentence_and_a_rerun_resumes(tmp_path, h, capsys):
    from napari_nuclei_edges.data import synthetic_nuclei

    np.savez(tmp_path / "in.npz", images=np.concatenate(list(synthetic_nuclei(20).values())))
    out = tmp_path / "out.zarr"
    run = _python(f"""
        import errno, sys
        import zarr.storage._local as local
        put, count = local._put, [0]
        def full(path, value, exclusive=False):  # the disk fills during the image writes
            count[0] += 1
            if count[0] > 150:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            return put(path, value, exclusive)
        local._put = full
        from napari_nuclei_edges._cli import main
        sys.exit(main(["batch", {str(tmp_path / "in.npz")!r}, "--out", {str(out)!r},
                       "--steps", "sobel,labels,measure", "--quiet"]))
    """)  # fmt: skip
    printed, err = run.communicate(timeout=300)
    assert run.returncode == 2 and printed == ""
    assert err.count("\n") == 1, err  # once ~450 lines of asyncio and zarr tracebacks
    assert err.startswith(f"napari-nuclei-edges batch: {out}/")
    assert err.endswith(": No space left on device; what was finished is kept, run again "
                        "to resume.\n")  # fmt: skip
    code, printed, err = h.run_cli(capsys, tmp_path / "in.npz", "--out", out,
                                   "--steps", "sobel,labels,measure")  # fmt: skip
    assert (code, err) == (0, "") and "already done" in printed


def _two_members_named_a(path: Path, stack) -> Path:
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        for part in (stack[:4], stack[4:]):
            buffer = io.BytesIO()
            np.save(buffer, part)
            archive.writestr("a.npy", buffer.getvalue())
    return path


def test_an_npz_with_two_members_of_one_name_is_refused_alike(tmp_path, stack, h, capsys):
    from napari_nuclei_edges.data import load_dataset

    path = _two_members_named_a(tmp_path / "twice.npz", stack)
    words = "holds more than one array named 'a'"
    with pytest.raises(ValueError, match=words):
        load_dataset(path)
    code, printed, err = h.run_cli(capsys, path, "--out", tmp_path / "out.zarr")
    assert (code, printed) == (2, "") and words in err
    assert not (tmp_path / "out.zarr").exists()
