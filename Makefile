# Two commands for a newcomer: `make report` and `make test` (each sets up .venv on first use;
# `make test` is `.venv/bin/python -m pytest -n auto`, the test command .ci/run runs).
# A CPU build of torch is pinned in constraints.txt: no CUDA wheels on a CPU-only machine.

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: setup report certify test lint bench clean docs

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

report: $(STAMP)  ## check and certify every statement; writes report/
	$(VENV)/bin/rvsm report

certify: $(STAMP)  ## prove the certifiable statements and replay the certificates
	$(VENV)/bin/rvsm certify

test: $(STAMP)  ## the test suite (the ci Hypothesis profile under CI=true)
	$(PY) -m pytest -n auto

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The documentation site: docs/_build/html/index.html (Sphinx + MyST, -W: warnings are errors).
# It shows the latest report: report/ is written first when it is missing (make report
# refreshes it).  The notebooks execute on the first build and again when they change
# (docs/_build/.jupyter_cache).
$(DOCS_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -c constraints.txt -e ".[dev,docs]"
	touch $(DOCS_STAMP)

report/summary.json: | $(STAMP)
	$(VENV)/bin/rvsm report || test -f report/summary.json

docs: $(DOCS_STAMP) report/summary.json  ## build the documentation site and check its pages
	rm -rf docs/_build/html docs/_build/doctrees  # a fresh site; executed notebooks are cached
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html -d docs/_build/doctrees docs docs/_build/html
	RVSM_DOCS_BUILT=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_docs_site.py

bench: $(STAMP)
	$(PY) benchmarks/bench_certify.py --quick

clean:
	rm -rf $(VENV) report docs/_build docs/generated
