#!/usr/bin/env bash
# The test command (README; CI runs it through .ci/run):
#
#   bash scripts/test.sh [pytest args...]
#
# 1. scripts/setup.sh --test (Debian packages, .venv with the test extras; fast when nothing changed)
# 2. a private throw-away PostgreSQL 15 server (scripts/pg.sh), stopped and deleted on exit
# 3. ruff check . → ruff format --check . → lint-imports → mypy → pytest "$@"   (stops at the first failure)
#
# Exported for the tests: BARGAINING_TEST_POSTGRES_URL, BARGAINING_TEST_POSTGRES_ADMIN_URL,
# BARGAINING_TEST_POSTGRES_APP_ROLE, BARGAINING_TEST_POSTGRES_APP_URL (see scripts/pg.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf '[test] %s\n' "$*"; }
die() {  # die MESSAGE [EXIT_CODE]
  printf '[test] FAILED: %s\n' "$1" >&2
  exit "${2:-1}"
}

START=$SECONDS
bash scripts/setup.sh --test

# shellcheck source=scripts/pg.sh
source scripts/pg.sh
trap 'rc=$?; pg_stop; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_start

step() {  # step NAME CMD...
  local name=$1 t0=$SECONDS
  shift
  log "$name"
  local rc=0
  "$@" || rc=$?
  [ "$rc" -eq 0 ] || die "$name (exit code $rc)" "$rc"
  log "$name: ok ($((SECONDS - t0))s)"
}

step "ruff check ." .venv/bin/ruff check .
step "ruff format --check ." .venv/bin/ruff format --check .
step "lint-imports" .venv/bin/lint-imports
step "mypy" .venv/bin/mypy

log "pytest $*"
rc=0
.venv/bin/pytest "$@" || rc=$?
case "$rc" in
  0) log "all checks passed in $((SECONDS - START))s" ;;
  5) die "pytest collected no tests (exit code 5): a test run that tests nothing is a failure" 5 ;;
  *) die "pytest (exit code $rc)" "$rc" ;;
esac
