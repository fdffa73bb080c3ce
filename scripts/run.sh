#!/usr/bin/env bash
# The first command (README): install, create/migrate the SQLite database, load demo data into an
# empty database, and serve the web app.
#
#   bash scripts/run.sh [--host H] [--port P]      (defaults: $HOST or 127.0.0.1, $PORT or 8000)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

die() { printf '[run] ERROR: %s\n' "$*" >&2; exit 2; }

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
while [ "$#" -gt 0 ]; do
  case "$1" in
    --host) [ "$#" -ge 2 ] || die "--host needs a value"; HOST=$2; shift 2 ;;
    --host=*) HOST=${1#--host=}; shift ;;
    --port) [ "$#" -ge 2 ] || die "--port needs a value"; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#--port=}; shift ;;
    -h|--help) sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: scripts/run.sh [--host H] [--port P])" ;;
  esac
done

bash scripts/setup.sh
printf '[run] bargaining init\n'
.venv/bin/bargaining init
printf '[run] bargaining demo --if-empty\n'
.venv/bin/bargaining demo --if-empty
printf '[run] bargaining keys init (test CA for signing demo PDFs; keeps existing keys)\n'
.venv/bin/bargaining keys init
printf '[run] bargaining serve on http://%s:%s/\n' "$HOST" "$PORT"
exec .venv/bin/bargaining serve --host "$HOST" --port "$PORT"
