PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck demo bench bench-secrets bench-review schema clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q reconciler >/dev/null
	touch $(STAMP)

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

typecheck: install  # mypy over reconciler/ ([tool.mypy] in pyproject.toml)
	$(BIN)/mypy

demo: install
	./scripts/demo.sh

# The package is byte-compiled first, as a wheel install leaves it: an editable checkout
# would otherwise compile every module from source in each CLI process the benchmark starts.
bench: install
	$(BIN)/python -m compileall -q reconciler >/dev/null
	$(BIN)/python -m bench.fleet
	$(BIN)/python -m bench.secrets
	$(BIN)/python -m bench.backend
	$(BIN)/python -m bench.review

bench-secrets: install  # only the SOPS part of the benchmark (section "Resolving SOPS secrets")
	$(BIN)/python -m bench.secrets

bench-review: install  # only the pull-request comment of a 5,000-merchant profile edit
	$(BIN)/python -m bench.review

schema: install  # after editing schemas/*.json: ship them in the package, regenerate the fast validators
	cp schemas/merchant.schema.json schemas/plan.schema.json reconciler/schemas/
	$(BIN)/python -c "from reconciler.config.schema import generate; print(*generate(), sep='\n')"

clean:
	rm -rf .reconciler build *.egg-info
