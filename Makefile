# Two commands for a newcomer: `make report` and `make test` (each sets up .venv on first use).
# A CPU build of torch is pinned in constraints.txt: no CUDA wheels on a CPU-only machine.

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup report certify test lint bench clean

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

bench: $(STAMP)
	$(PY) benchmarks/bench_certify.py --quick

clean:
	rm -rf $(VENV) report
