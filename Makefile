# One command to set up and launch, one to set up and run every test.
#   make run [DATA=path/to/cell0027_nuclei.npz]   napari with the plugin, its data and docks
#   make test                                     the whole suite (its Qt tests under PySide6 too)
PYTHON ?= python3
VENV ?= .venv
TOOLS ?= .venv-tools
# The CPU build of torch, installed before anything else can ask for torch and pull
# the multi-GB CUDA build. Point it at another build if you want one.
TORCH ?= torch==2.13.0
DATA ?=

.PHONY: run dev test lint screenshots bench system-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet "$(TORCH)"
	$(VENV)/bin/python -m pip install --quiet -e ".[all,testing]"
	touch $@

dev: $(VENV)/.installed  ## the editable development environment in .venv

run: $(VENV)/.installed  ## set up and start napari with the plugin, its data and its docks
	$(VENV)/bin/napari-nuclei-edges $(DATA)

$(TOOLS)/.installed:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "tox>=4.11"
	touch $@

system-deps:  ## Xvfb, Mesa and the libraries Qt needs (Debian/Ubuntu; apt-get as root)
	bash scripts/install-system-deps.sh

test: system-deps $(TOOLS)/.installed  ## set up and run the whole suite under PyQt6, its Qt tests under PySide6 too
	$(TOOLS)/bin/tox run -e pyqt6,pyside6

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts

screenshots: system-deps $(VENV)/.installed  ## retake every screenshot in docs/ from the real application
	xvfb-run -a -s "-screen 0 1600x1000x24" $(VENV)/bin/python scripts/screenshots.py

bench: system-deps $(VENV)/.installed  ## every benchmark, ratios in one run (a virtual screen for napari)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(VENV)/bin/python -m benchmarks

clean:
	rm -rf $(VENV) $(TOOLS) .tox build dist src/*.egg-info
