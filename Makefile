# Every target builds its own .venv from scratch on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench gallery clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m textbook_core.widgets.lab_settings
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m autograder demo

# PyTorch is optional: it is added only from a wheel already on this machine (never downloaded).
bench: $(STAMP)
	-$(PY) -m pip install --quiet --no-index --no-deps torch==2.13.0 2>/dev/null || echo "(PyTorch wheel not found locally: its column is skipped)"
	$(PY) -m bench.bench
	$(PY) -m bench.widget

# One PNG per figure of the chapter (8.1-8.12 and the walkthroughs' pictures) in gallery/.
gallery: $(STAMP)
	$(PY) -m textbook_core.gallery gallery

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
