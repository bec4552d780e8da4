# The two commands of the README: `make demo` and `make test`.
# Both create $(VENV) (default .venv, with $(PYTHON) -m venv) and install a
# tested stack set plus this package (editable) on first use:
#   STACK=upstream (default) | onedl   -> requirements/$(STACK).txt
#   TORCH=torch (default) | torch-min  -> requirements/$(TORCH).txt
#   PYTHON=python3 (default), e.g. PYTHON=python3.12 VENV=.venv312
# One venv holds one stack set (both install the import packages mmengine,
# mmcv, mmpretrain): another STACK or TORCH needs another VENV.
# `make test-stacks` runs the support matrix of docs/compatibility.md in
# fresh venvs under $(STACKS_DIR).
PYTHON ?= python3
VENV ?= .venv
STACK ?= upstream
TORCH ?= torch
STACKS_DIR ?= work_dirs/stacks
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mpa_fer_installed
export HF_HUB_OFFLINE := 1
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

.PHONY: install check-venv-stack test lint demo clean-demo test-stacks docs

install: check-venv-stack $(STAMP)

# An existing venv of another stack set is refused (a stamp from before
# stack sets existed counts as "upstream torch").
check-venv-stack:
	@if [ -f $(STAMP) ]; then \
	  have="$$(cat $(STAMP))"; have="$${have:-upstream torch}"; \
	  if [ "$$have" != "$(STACK) $(TORCH)" ]; then \
	    echo "$(VENV) holds STACK/TORCH '$$have', not '$(STACK) $(TORCH)';" \
	      "use another VENV=... (or remove $(VENV))"; exit 1; \
	  fi; \
	fi

$(STAMP): requirements/$(STACK).txt requirements/$(TORCH).txt \
		requirements/common.txt requirements/web.txt setup.py
	$(PYTHON) -m venv $(VENV)
	@echo "installing the $(STACK) stack set into $(VENV) (pip -q; a few minutes the first time)"
	$(PY) -m pip install -q -r requirements/$(TORCH).txt \
		-r requirements/$(STACK).txt -r requirements/web.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check || true
	echo "$(STACK) $(TORCH)" > $(STAMP)

lint: install
	$(VENV)/bin/ruff check .

test: lint docs
	$(PY) -m pytest -q tests

# The documentation (docs/, Sphinx + MyST): warnings and broken internal
# links are errors. Installs requirements/docs.txt into the venv once.
DOCS_STAMP := $(VENV)/.mpa_fer_docs_installed

$(DOCS_STAMP): $(STAMP) requirements/docs.txt
	$(PY) -m pip install -q -r requirements/docs.txt
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

demo: install
	$(PY) tools/demo.py --work-dir work_dirs/demo

clean-demo:
	rm -rf work_dirs/demo data/synthetic_fer data/demo_clip

# The support matrix (docs/compatibility.md): every Python with a stack
# set, each in a fresh venv; run before a release (about an hour on 2
# cores). CI runs the default set (make test) and the second row's core
# suite (.ci/run).
test-stacks:
	bash .ci/test_stack.sh $(STACKS_DIR)/py311-upstream 3.11 torch upstream full
	bash .ci/test_stack.sh $(STACKS_DIR)/py312-onedl-min 3.12 torch-min onedl full
	bash .ci/test_stack.sh $(STACKS_DIR)/py313-onedl 3.13 torch onedl full
