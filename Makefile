# The two commands a newcomer needs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Debian packages the hub and its tests need: Chromium for the browser tests, and a TrueType CJK font to draw
# the pages with and to embed in certificates' PDFs (certificates.font_file).
SYSTEM_PACKAGES := chromium fonts-wqy-zenhei poppler-utils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-packages demo test lint bench soak clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(INSTALLED)

system-packages:
	@missing="$$(for package in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'ok installed' || echo $$package; done)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

setup: $(INSTALLED) system-packages

demo: setup
	$(BIN)/hub demo --once

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Two pytest workers, one a core; the reliability suite stays one group in one worker, so that its
# personal-data scan still runs after its scenarios (tests/reliability/conftest.py).
test: lint
	$(BIN)/pytest -n 2 --dist loadgroup

# The reliability and security suite at the sizes of issue 9 (make test runs it small), then its table.
soak: setup
	rm -rf var/reliability
	$(BIN)/pytest tests/reliability --soak -p no:cacheprovider
	$(BIN)/python tests/reliability/figures.py var/reliability RELIABILITY.md

bench: setup
	$(BIN)/python -m bench.ledger_append
	$(BIN)/python -m bench.handoff_tokens
	$(BIN)/python -m bench.webhook_ingestion
	$(BIN)/python -m bench.ledger_export
	$(BIN)/python -m bench.attendance_import
	$(BIN)/python -m bench.compliance_report
	$(BIN)/python -m bench.certificate_pdf
	$(BIN)/python -m bench.reconciliation

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
