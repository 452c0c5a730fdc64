# Two commands on a fresh machine: `make demo` and `make test`.
# Each installs what it needs: a venv with the package, and (as root, with apt)
# Debian's redis-server, valkey-server, nginx and chromium when they are missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
APT    := $(shell command -v apt-get 2>/dev/null)
ROOT   := $(shell [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: test lint unit integration compat browser demo bench venv system-deps clean

# The browser tier needs Chromium; `make demo` does not.
test browser: NEED_BROWSER := yes
# The integration tier also runs against Valkey.
test integration: NEED_VALKEY := yes

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,demo]'
	touch $@

# Debian packages the tiers need, installed only when missing.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	[ "$(NEED_BROWSER)" != yes ] || command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	[ "$(NEED_BROWSER)" != yes ] || [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$$missing fonts-noto-color-emoji"; \
	if [ -n "$$missing" ]; then \
	  if [ -n "$(APT)" ] && [ -n "$(ROOT)" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing (install them, e.g. sudo apt-get install$$missing)"; \
	  fi; \
	fi
	@# Valkey, for the integration tier's Valkey runs: in Debian 13's main archive,
	@# in bookworm-backports for Debian 12 (the script adds it).
	@if [ "$(NEED_VALKEY)" = yes ] && ! command -v valkey-server >/dev/null 2>&1; then \
	  if [ -n "$(APT)" ] && [ -n "$(ROOT)" ]; then \
	    echo "installing: valkey-server"; sh support/install-valkey.sh; \
	  else \
	    echo "missing: valkey-server (run support/install-valkey.sh as root)"; \
	  fi; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv system-deps
	$(BIN)/pytest -q tests/integration

# streamlit-server-state users' apps, unchanged but for the import line, on two replicas.
compat: venv system-deps
	$(BIN)/pytest -q tests/compat

browser: venv system-deps
	$(BIN)/pytest -q tests/browser

test: venv system-deps lint
	$(BIN)/pytest -q tests

# The anchor library, streamlit-server-state, in a venv of its own, with the
# same Streamlit, so both are measured side by side in one run.
ANCHOR := bench/.venv-anchor/.installed
$(ANCHOR):
	$(PYTHON) -m venv bench/.venv-anchor
	bench/.venv-anchor/bin/pip install -q streamlit==$$($(BIN)/python -c 'import streamlit; print(streamlit.__version__)') streamlit-server-state==0.20.2
	touch $@

bench: venv system-deps $(ANCHOR)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

demo: venv system-deps
	$(BIN)/python -m support.demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) bench/.venv-anchor .pytest_cache .mypy_cache .ruff_cache *.egg-info
