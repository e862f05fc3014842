import ast
import subprocess
import sys

import pytest

from napari_nuclei_edges.training.options import MODELS, TrainingOptions

HEAVY = ("torch", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "napari")


def loaded_after(statement: str) -> list[str]:
    """The heavy modules a fresh interpreter has loaded after ``statement``."""
    code = f"import sys\n{statement}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_the_options_load_neither_torch_nor_qt_nor_napari():
    statement = (
        "import napari_nuclei_edges.training.options as o\n"
        "o.TrainingOptions(model='cnn').rate, o.TrainingOptions.help('steps')"
    )
    assert loaded_after(statement) == []


def test_the_package_and_kernel_files_load_torch_only_when_used():
    assert loaded_after("import napari_nuclei_edges.training.kernel_io") == []
    assert loaded_after("from napari_nuclei_edges.training import TrainingOptions") == []
    assert loaded_after("from napari_nuclei_edges.training import fit_kernel") == []
    assert loaded_after("from napari_nuclei_edges.training import SOBEL_X") == ["torch"]


def test_every_option_has_help_and_every_model_is_accepted():
    for name in TrainingOptions.__dataclass_fields__:
        assert TrainingOptions.help(name).endswith(".")
    for model in MODELS:
        assert TrainingOptions(model=model).model == model
    with pytest.raises(ValueError, match="model must be"):
        TrainingOptions(model="mlp")
