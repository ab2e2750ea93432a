# Every target builds its own .venv from scratch on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench gallery student-edition clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m textbook_core.widgets.lab_settings
	touch $(STAMP)

# Two pytest workers, one test file each at a time (a file's fixtures stay in one process): the
# grading tests wait on sandboxes and browsers as much as they compute.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

# The demo grades in the bubblewrap sandbox: .ci/bubblewrap installs it (root, apt-get) or stops,
# before anything is built, with the command to run.
demo:
	@sh .ci/bubblewrap
	@$(MAKE) --no-print-directory $(STAMP)
	$(PY) -m autograder demo

# What a lecturer hands out: the library without the answers, the notebooks' zip, the handout.
student-edition: $(STAMP)
	$(PY) -m autograder student-edition dist/student

# PyTorch is optional: it is added only from a wheel already on this machine (never downloaded).
bench: $(STAMP)
	-$(PY) -m pip install --quiet --no-index --no-deps torch==2.13.0 2>/dev/null || echo "(PyTorch wheel not found locally: its column is skipped)"
	$(PY) -m bench.bench
	$(PY) -m bench.floors
	$(PY) -m bench.widget

# One PNG per figure of the chapter (8.1-8.12 and the walkthroughs' pictures) in gallery/.
gallery: $(STAMP)
	$(PY) -m textbook_core.gallery gallery

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
