#!/usr/bin/env bash
# Sets up what the tests need, then runs them: lint, the whole pytest suite (unit, both databases, the real
# Rasa server and action server, the real telegram.ext.Application), Rasa's data validation and held-out test.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${XIJIN_TEST_WORKERS:-2}
if [ "$workers" = 0 ]; then
  scripts/setup.sh --no-data
else
  # The model (about 7 of a fresh clone's minutes) trains beside the tests that need none: those that need it
  # run last and wait for var/test-training.status, the set-up's exit code (tests/conftest.py). It trains in
  # a process group of its own, stopped when the tests end first (a run of some tests only); a training cut
  # off leaves no model behind (the set-up renames a finished one into place) and reuses Rasa's cache next time.
  scripts/setup.sh --no-data --no-train
  mkdir -p var && rm -f var/test-training.status
  setsid bash -c 'scripts/setup.sh --no-data > var/test-training.log 2>&1; echo $? > var/test-training.tmp
                  mv var/test-training.tmp var/test-training.status' &
  training=$!
  trap 'kill -- -$training 2>/dev/null || true' EXIT
  export XIJIN_TEST_TRAINING="$PWD/var/test-training.status"
fi

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
# Two processes by default (tests/conftest.py keeps each Rasa stack and module fixture on one of them, and
# puts the tests that wait for the model last: hence no reordering by group size);
# XIJIN_TEST_WORKERS=0 runs everything in this process, after the training (e.g. to debug with -x or --pdb).
if [ "$workers" = 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
status=0
.venv/bin/python -m pytest -n "$workers" --dist loadgroup --no-loadscope-reorder "$@" || status=$?
grep -h "trained nlu/models" var/test-training.log 2>/dev/null || true  # the training's time, in this log
if [ -f var/test-training.status ] && [ "$(cat var/test-training.status)" != 0 ]; then
  tail -n 30 var/test-training.log >&2; echo "the model's training failed: var/test-training.log" >&2
  [ "$status" != 0 ] || status=1
fi
exit "$status"
