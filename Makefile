# One entry point for setting up, testing, demonstrating and benchmarking.
# Every target creates .venv at the repository root when it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# glibc's malloc returns large activations to the OS each iteration; these keep them (up to 4x faster batched CPU runs measured here).
export MALLOC_MMAP_THRESHOLD_ := 33554432
export MALLOC_TRIM_THRESHOLD_ := 100000000000
export MALLOC_TOP_PAD_ := 1073741824

.PHONY: setup test test-fast demo serve screenshots builtin bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e '.[faces,synth,export,dev,serve]'
	$(PY) -m pip install -q --disable-pip-version-check --no-deps mediapipe==0.10.14
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

# the tests not marked slow: under a minute on 2 cores
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

demo: $(STAMP)
	$(VENV)/bin/attnwav2lip demo --out demo_output

serve: $(STAMP)
	$(VENV)/bin/attnwav2lip serve

# docs/serve.md's two screenshots, taken again by the browser test (needs Debian's chromium)
screenshots: $(STAMP)
	ATTNWAV2LIP_SCREENSHOTS=docs $(PY) -m pytest tests/test_serve.py -k browser_end_to_end

# The shipped models from three training runs (files, checkpoint folders or run folders), float16:
#   make builtin GENERATOR=runs/synth_attn EXPERT=runs/synth_expert EVALUATOR=runs/synth_evaluator
builtin: $(STAMP)
	$(VENV)/bin/attnwav2lip build-builtin --generator $(GENERATOR) --expert $(EXPERT) --evaluator $(EVALUATOR)

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
