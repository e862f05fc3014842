"""The README's Python example runs as printed, and says what it claims."""

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_example_runs_and_warns_about_the_bit_depth(capsys):
    pytest.importorskip("torch")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        exec(compile(blocks[0], str(README), "exec"), {})
    matched = int(capsys.readouterr().out.split()[0])
    assert matched >= 108  # at least 90 % of the field's 120 nuclei
    assert any("not in the range the model learned from" in str(w.message) for w in said)


def test_every_link_of_the_readme_and_the_docs_leads_to_a_file():
    root = README.parent
    pages = [README, *sorted((root / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}"
