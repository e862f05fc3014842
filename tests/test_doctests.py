"""Every docstring example runs: the examples in the docs are tests too."""

import doctest
import importlib
import pkgutil

import pytest

import napari_nuclei_edges

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(napari_nuclei_edges.__path__, "napari_nuclei_edges.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_pure_modules_have_examples():
    attempted = 0
    for name in MODULES:
        if "._qt" not in name:
            module = importlib.import_module(name)
            attempted += doctest.testmod(module, report=False).attempted
    assert attempted >= 20
