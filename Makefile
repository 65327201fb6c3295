# newsbeam: `make demo` and `make test` are the whole quick start.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint install clean train eval bench

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	$(PY) -m pip install --quiet -e '.[dev]' >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf out/sample
	$(VENV)/bin/newsbeam run --config configs/sample.yaml

test: $(STAMP)
	$(PY) -m pytest -q

train: $(STAMP)  ## retrain the tag models from ../shared/data (reproducible: fixed seeds)
	$(PY) -m training.train_events
	$(PY) -m training.train_stance
	$(PY) -m training.train_encoder
	$(PY) -m training.train_stories

eval: $(STAMP)  ## measure the tags on held-back dev data; writes EVALUATION.md
	$(PY) -m training.evaluate

bench: $(STAMP)  ## throughput against the plain-loop and trafilatura-CLI references
	$(PY) benchmarks/throughput.py

lint: $(STAMP)
	$(VENV)/bin/ruff check newsbeam tests training benchmarks

clean:
	rm -rf $(VENV) out build *.egg-info
