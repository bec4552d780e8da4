# The two commands of the README: `make demo` and `make test`.
# Both create .venv (python3 -m venv) and install the pinned CI set
# (requirements/ci.txt) plus this package (editable) on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mpa_fer_installed
export HF_HUB_OFFLINE := 1
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

.PHONY: install test lint demo clean-demo docs

install: $(STAMP)

$(STAMP): requirements/ci.txt requirements/web.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements/ci.txt
	$(PY) -m pip install -r requirements/web.txt
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	$(PY) -m pip check || true
	touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check .

test: lint docs
	$(PY) -m pytest -q tests

# The documentation (docs/, Sphinx + MyST): warnings and broken internal
# links are errors. Installs requirements/docs.txt into the venv once.
DOCS_STAMP := $(VENV)/.mpa_fer_docs_installed

$(DOCS_STAMP): $(STAMP) requirements/docs.txt
	$(PY) -m pip install -r requirements/docs.txt
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

demo: install
	$(PY) tools/demo.py --work-dir work_dirs/demo

clean-demo:
	rm -rf work_dirs/demo data/synthetic_fer data/demo_clip
