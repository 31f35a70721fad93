#!/usr/bin/env bash
# Sets up what the tests need, then runs them: lint, the whole pytest suite (unit, both databases, the real
# Rasa server and action server, the real telegram.ext.Application), Rasa's data validation and held-out test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-data

# `docker-compose config` validates the production compose file without a Docker engine (Debian's package).
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing docker-compose (to validate docker-compose.yml)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  else
    echo "docker-compose is missing: install Debian's docker-compose package (the compose test fails without it)" >&2
  fi
fi
# Debian's Chromium for the browser tests (tests/web/), driven by Playwright through its executable: Playwright's
# own browser download needs a host that is not reachable everywhere.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium (browser tests)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install Debian's chromium package (the browser tests fail without it)" >&2
  fi
fi
# CJK font for the map picture's labels.
if ! fc-list :lang=zh 2>/dev/null | grep -q . && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing fonts-noto-cjk (map labels)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null || true
fi

.venv/bin/ruff check .
# Two processes by default (tests/conftest.py keeps each Rasa stack and module fixture on one of them);
# XIJIN_TEST_WORKERS=0 runs everything in this process (e.g. to debug with -x or --pdb).
workers=${XIJIN_TEST_WORKERS:-2}
if [ "$workers" = 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
