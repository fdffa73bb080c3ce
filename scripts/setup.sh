#!/usr/bin/env bash
# Install everything the product needs, idempotently.
#
#   bash scripts/setup.sh          Debian packages for the product + .venv with `pip install -e .`
#   bash scripts/setup.sh --test   also PostgreSQL 15, Chromium, and `pip install -e '.[test]'`
#
# Second runs are fast: apt is skipped when every package is installed, pip is skipped when .venv
# exists and pyproject.toml is unchanged since the last install (hash stamp inside .venv).
# Environment: PYTHON=/path/to/python3.x to choose the interpreter (must be >= 3.11).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (usage: scripts/setup.sh [--test])" ;;
  esac
done

START=$SECONDS

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "not root and sudo is not available; cannot run: $*"
  fi
}

# --- Python >= 3.11 ----------------------------------------------------------------------------
python_ok() {  # $1 = interpreter; true if it runs and is >= 3.11
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
  local cand
  for cand in ${PYTHON:+"$PYTHON"} python3 python3.13 python3.12 python3.11 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && python_ok "$cand"; then
      command -v "$cand"
      return 0
    fi
  done
  return 1
}

# --- Debian packages -----------------------------------------------------------------------------
# Product: CJK fonts + Pango/HarfBuzz-subset for WeasyPrint, poppler-utils (pdfsig, pdftotext, ...).
PKGS=(fonts-noto-cjk fontconfig libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils)
if [ "$WITH_TEST" -eq 1 ]; then
  # Tests: a private PostgreSQL 15 server (scripts/pg.sh), browser tests in Chromium (/usr/bin/chromium).
  PKGS+=(postgresql-15 postgresql-client-15 chromium)
fi

PY=$(find_python || true)
if [ -z "$PY" ]; then
  if [ ! -e /usr/bin/python3 ]; then
    PKGS+=(python3 python3-venv)  # plain Debian 12 without Python: python3 is 3.11
  else
    die "no Python >= 3.11 found (tried \$PYTHON, python3, python3.13, python3.12, python3.11, /usr/bin/python3)"
  fi
elif ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  # Debian's own python3 ships ensurepip (needed by `python3 -m venv`) in python3-venv.
  PKGS+=(python3-venv)
fi

MISSING=()
for p in "${PKGS[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || MISSING+=("$p")
done

if [ "${#MISSING[@]}" -eq 0 ]; then
  log "Debian packages: all ${#PKGS[@]} already installed"
else
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${MISSING[*]}"
  APT_LOG=$(mktemp /tmp/bargaining-apt.XXXXXX.log)
  log "Debian packages: installing ${MISSING[*]} (log: $APT_LOG)"
  APT=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
  if ! as_root "${APT[@]}" update >"$APT_LOG" 2>&1; then
    tail -n 40 "$APT_LOG" >&2; die "apt-get update failed"
  fi
  if ! as_root "${APT[@]}" install -y --no-install-recommends "${MISSING[@]}" >>"$APT_LOG" 2>&1; then
    tail -n 60 "$APT_LOG" >&2; die "apt-get install failed"
  fi
  rm -f "$APT_LOG"
  log "Debian packages: done"
fi

if [ -z "$PY" ]; then
  PY=$(find_python || true)
  [ -n "$PY" ] || die "no Python >= 3.11 found even after installing python3"
fi

# --- .venv ---------------------------------------------------------------------------------------
VENV="$ROOT/.venv"
STAMP="$VENV/.bargaining-install-stamp"

if [ -e "$VENV" ] && ! python_ok "$VENV/bin/python"; then
  log ".venv is broken or older than Python 3.11; recreating it"
  rm -rf "$VENV"
fi
if [ ! -e "$VENV/bin/python" ]; then
  log "creating .venv with $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$PY" -m venv "$VENV" || die "'$PY -m venv' failed (on Debian: apt-get install python3-venv)"
fi

if [ "$WITH_TEST" -eq 1 ]; then EXTRAS='test'; SPEC='.[test]'; else EXTRAS='base'; SPEC='.'; fi
HASH=$(sha256sum pyproject.toml | cut -d' ' -f1)
OLD_HASH=; OLD_EXTRAS=
if [ -f "$STAMP" ]; then read -r OLD_HASH OLD_EXTRAS <"$STAMP" || true; fi

# A test install is a superset of a base install.
if [ "$OLD_HASH" = "$HASH" ] && { [ "$OLD_EXTRAS" = "$EXTRAS" ] || [ "$OLD_EXTRAS" = test ]; }; then
  log "Python packages: up to date (.venv, pyproject.toml unchanged)"
else
  rm -f "$STAMP"
  log "Python packages: upgrading pip"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  log "Python packages: pip install -e '$SPEC'"
  "$VENV/bin/python" -m pip install -q -e "$SPEC"
  printf '%s %s\n' "$HASH" "$EXTRAS" >"$STAMP"
  log "Python packages: done"
fi

log "ready in $((SECONDS - START))s ($("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])') in .venv)"
