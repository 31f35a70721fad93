#!/usr/bin/env bash
# Sets up everything the assistant needs, and is fast when nothing changed:
#   .venv       Python 3.11, the project with its dev extras  (reinstalled only when pyproject.toml changed)
#   .venv-rasa  Python 3.10, Rasa 3.6.21                      (reinstalled only when nlu/requirements-rasa*.txt changed)
#   nlu/models  the trained model                             (retrained only when nlu/ changed)
#   web/static/vendor  Leaflet & co. from npm                  (reinstalled only when web/package-lock.json changed)
#   the database migrated and the knowledge base loaded.
#   nlu/models/quick.tar.gz  with --quick-start and no full model: a model trained in about a minute
#               (nlu/config.quick.yml) so the chat can open; `xijin run` trains the full one behind it
# Usage: scripts/setup.sh [--no-train] [--no-data] [--quick-start]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
mkdir -p var
TRAIN=1; DATA=1; QUICK=0
for arg in "$@"; do
  case "$arg" in
    --no-train) TRAIN=0 ;;
    --no-data) DATA=0 ;;
    --quick-start) QUICK=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

# A Python of a given minor version, without hard-coding where it lives.
find_python() {
  local want=$1 candidate
  for candidate in "python$want" python3; do
    if command -v "$candidate" >/dev/null 2>&1 && \
       [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local version
    version=$(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -V | tail -n1 || true)
    if [ -n "$version" ]; then echo "$(pyenv root)/versions/$version/bin/python"; return 0; fi
  fi
  return 1
}

# --- the project's environment --------------------------------------------------------------------------
PY311=$(find_python 3.11) || { echo "Python 3.11 is needed: install it (e.g. 'pyenv install 3.11' or 'apt install python3.11 python3.11-venv')" >&2; exit 1; }
want=$(stamp pyproject.toml)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$want" ]; then
  say "installing the project into .venv (Python 3.11)"
  [ -x .venv/bin/python ] || "$PY311" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e '.[dev]'
  echo "$want" > .venv/.setup-stamp
fi

# --- Rasa's environment ---------------------------------------------------------------------------------
PY310=$(find_python 3.10) || {
  cat >&2 <<'MSG'
Rasa 3.6 needs Python 3.10 (it does not run on 3.11+), and none was found.
Install one, for example:   pyenv install 3.10.13      or      apt install python3.10 python3.10-venv
then run this command again.
MSG
  exit 1; }
want=$(stamp nlu/requirements-rasa.txt nlu/requirements-rasa-nodeps.txt)
if [ ! -x .venv-rasa/bin/rasa ] || [ "$(cat .venv-rasa/.setup-stamp 2>/dev/null)" != "$want" ]; then
  say "installing Rasa into .venv-rasa (Python 3.10; the first time takes a few minutes)"
  [ -x .venv-rasa/bin/python ] || "$PY310" -m venv .venv-rasa
  .venv-rasa/bin/pip install --quiet --upgrade 'pip<24.1'
  .venv-rasa/bin/pip install --quiet -r nlu/requirements-rasa.txt
  .venv-rasa/bin/pip install --quiet --no-deps -r nlu/requirements-rasa-nodeps.txt
  echo "$want" > .venv-rasa/.setup-stamp
fi

# --- the model ------------------------------------------------------------------------------------------
# Rasa's cache (nlu/.rasa) lets a training reuse every component whose config and inputs did not change.
# Rasa fingerprints a component's config and inputs, not its code: one cache per version of our components'
# code, so a component trained by older code (or stored the older way) is never reused.
# The quick model has a cache of its own: Rasa names a cached linear model's file after its node, whose index
# differs without the DIET, and a full model assembled from the quick one's cache would not load.
# --skip-validation: the check `rasa train` runs first is `rasa data validate`'s (rasa.cli.utils.validate_files),
# which reads all the NLU data twice more: ~18 s of a full training's CPU (docs/nlu-pipelines.md, section 8).
# The tests run it with --fail-on-warnings (tests/nlu/test_rasa_checks.py); unreadable data still fails here.
train() {  # train CONFIG NAME: into var/ first, then one rename, so a running Rasa never sees half a file
  local config=$1 name=$2 code cache
  code=$(stamp $(find nlu/xijin_nlu -type f -name '*.py' | sort))
  cache="cache-$code"; [ "$name" = quick ] && cache="cache-$code-quick"
  if [ -d nlu/.rasa ]; then
    find nlu/.rasa -mindepth 1 -maxdepth 1 -name 'cache*' ! -name "cache-$code" ! -name "cache-$code-quick" \
      -exec rm -rf {} +
  fi
  rm -rf "var/train-$name"; mkdir -p nlu/models
  local started=$SECONDS
  ( cd nlu && RASA_TELEMETRY_ENABLED=false PYTHONPATH="$ROOT/nlu" ACTION_SERVER_URL=http://127.0.0.1:5055/webhook \
      RASA_CACHE_DIRECTORY=".rasa/$cache" ../.venv-rasa/bin/rasa train --data data --domain domain.yml \
      --config "$config" --out "../var/train-$name" --fixed-model-name "$name" --quiet --skip-validation \
      > "../var/train-$name.log" 2>&1 ) || {
    tail -n 40 "var/train-$name.log" >&2; echo "training failed; the whole log is var/train-$name.log" >&2; exit 1; }
  mv "var/train-$name/$name.tar.gz" "nlu/models/$name.tar.gz"
  touch "nlu/models/$name.tar.gz"  # the newest archive of the folder: the one a restarted Rasa loads
  rm -rf "var/train-$name"
  echo "    trained nlu/models/$name.tar.gz in $((SECONDS - started)) s ($(du -m "nlu/models/$name.tar.gz" | cut -f1) MB)"
}
if [ "$TRAIN" = 1 ]; then
  inputs="nlu/domain.yml nlu/requirements-rasa.txt nlu/requirements-rasa-nodeps.txt $(find nlu/data nlu/xijin_nlu -type f -name '*.y*ml' -o -type f -name '*.py' | sort)"
  want=$(stamp nlu/config.yml $inputs)
  if [ ! -f nlu/models/xijin.tar.gz ] || [ "$(cat nlu/models/.fingerprint 2>/dev/null)" != "$want" ]; then
    rm -f nlu/models/xijin.tar.gz  # out of date: never served
    if [ "$QUICK" = 1 ]; then
      quick=$(stamp nlu/config.quick.yml $inputs)
      if [ ! -f nlu/models/quick.tar.gz ] || [ "$(cat nlu/models/.quick-fingerprint 2>/dev/null)" != "$quick" ]; then
        say "training a quick model (a minute or so; the full one trains in the background once the chat is open)"
        train config.quick.yml quick
        echo "$quick" > nlu/models/.quick-fingerprint
      fi
    else
      say "training the model (nlu/ changed)"
      train config.yml xijin
      echo "$want" > nlu/models/.fingerprint
      rm -f nlu/models/quick.tar.gz nlu/models/.quick-fingerprint
    fi
  else
    rm -f nlu/models/quick.tar.gz nlu/models/.quick-fingerprint
  fi
fi

# --- the web pages' scripts and styles (npm, pinned by web/package-lock.json, served by us) ----------------
want=$(stamp web/package-lock.json scripts/vendor_static.sh)
if [ ! -d web/static/vendor ] || [ "$(cat web/static/vendor/.setup-stamp 2>/dev/null)" != "$want" ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm is needed for the web pages' scripts (Leaflet): install Node.js and npm (e.g. 'apt install npm')" >&2; exit 1; }
  say "installing the web pages' scripts and styles (npm ci)"
  ( cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null )
  scripts/vendor_static.sh
  echo "$want" > web/static/vendor/.setup-stamp
fi

# --- the database and the knowledge base ----------------------------------------------------------------
if [ "$DATA" = 1 ]; then
  say "migrating the database and loading the knowledge base"
  .venv/bin/xijin db upgrade
  .venv/bin/xijin knowledge load
fi
