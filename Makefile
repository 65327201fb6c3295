# newsbeam: `make demo` and `make test` are the whole quick start.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LOG    := $(VENV)/install.log
# Two install profiles: the main job's dependencies only (make demo), and everything the
# tests, training, benchmarks and docs need (make test and the rest).
CORE   := $(VENV)/.core-stamp
DEV    := $(VENV)/.dev-stamp

.PHONY: demo test lint install install-dev clean train eval bench docs

$(PY):
	$(PYTHON) -m venv $(VENV)

# uv installs the core in seconds (parallel downloads, no build of what has a wheel);
# pip is the fallback where uv cannot be had. No test tools, no torch.
$(CORE): setup.py | $(PY)
	@echo "installing newsbeam and the main job's dependencies into $(VENV) (log: $(LOG))"
	@( $(PY) -m pip install --quiet uv && $(VENV)/bin/uv pip install --quiet --python $(PY) -e . ) > $(LOG) 2>&1 \
	  || $(PY) -m pip install --quiet -e . >> $(LOG) 2>&1 || (cat $(LOG); exit 1)
	@touch $@

# pip, so that the machine's pip configuration (wheel directories, constraints such as
# torch's CPU build) applies to the large optional stack.
$(DEV): setup.py | $(PY)
	$(PY) -m pip install --quiet --upgrade pip > $(LOG) 2>&1 || (cat $(LOG); exit 1)
	$(PY) -m pip install --quiet -e '.[dev]' >> $(LOG) 2>&1 || (cat $(LOG); exit 1)
	touch $@ $(CORE)

install: $(CORE)
install-dev: $(DEV)

demo: $(CORE)  ## the main job on the bundled sample, then the report; says where it all is
	@$(PY) -m newsbeam.demo

# Every core (pytest-xdist), tests handed out one by one (a file's tests may run on
# several workers, each building the file's module fixtures once: the object-store file
# alone is ten minutes on one worker). PYTEST_ARGS adds options (-k, --durations=20).
test: $(DEV)
	$(PY) -m pytest -q -n auto --dist load $(PYTEST_ARGS)

train: $(DEV)  ## retrain the tag models from ../shared/data (reproducible: fixed seeds)
	$(PY) -m training.train_events
	$(PY) -m training.train_stance
	$(PY) -m training.calibrate stance
	$(PY) -m training.train_stories

eval: $(DEV)  ## leave-one-source-out table per family (intervals), then the other measurements; writes EVALUATION.md
	$(PY) -m training.loso --report
	$(PY) -m training.evaluate

bench: $(DEV)  ## throughput against the plain-loop and trafilatura-CLI references
	$(PY) benchmarks/throughput.py

lint: $(DEV)
	$(VENV)/bin/ruff check newsbeam tests training benchmarks

docs: $(DEV)  ## the documentation site (mkdocs build --strict: a broken link fails)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

clean:
	rm -rf $(VENV) out build site *.egg-info
