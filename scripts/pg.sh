#!/usr/bin/env bash
# A private, throw-away PostgreSQL 15 server for tests.
#
#   bash scripts/pg.sh [COMMAND ARGS...]
#       Start a server, export the BARGAINING_TEST_POSTGRES_* variables, run COMMAND (default: print
#       the exports and wait for Ctrl-C), then stop the server and delete its files.
#   source scripts/pg.sh; trap pg_stop EXIT; pg_start
#       What scripts/test.sh does.
#
# The server lives in a temp dir (data, unix socket, log), listens on 127.0.0.1 on a free port and
# on a unix socket in that dir only, and runs with fsync off. As root it runs as the `postgres`
# system user (runuser). It never touches the system's clusters (pg_lsclusters).
#
# Exports:
#   BARGAINING_TEST_POSTGRES_URL        postgresql+psycopg://bargaining_owner:PW@127.0.0.1:PORT/bargaining_test
#   BARGAINING_TEST_POSTGRES_ADMIN_URL  the same (bargaining_owner owns the database and its public schema)
#   BARGAINING_TEST_POSTGRES_APP_ROLE   bargaining_app (LOGIN, no table privileges; bargaining_owner is a
#                                       member, so the owner may SET ROLE bargaining_app)
#                                       bargaining_owner is also in pg_signal_backend: DROP DATABASE …
#                                       WITH (FORCE) must end autovacuum workers (they run as no role)
#   BARGAINING_TEST_POSTGRES_APP_URL    postgresql+psycopg://bargaining_app:PW@127.0.0.1:PORT/bargaining_test
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin).

PG_DB=bargaining_test
PG_OWNER=bargaining_owner
PG_APP=bargaining_app
PG_TMP=
PG_RUN=()
_PG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

_pg_log() { printf '[pg] %s\n' "$*"; }
_pg_die() { printf '[pg] ERROR: %s\n' "$*" >&2; exit 1; }

_pg_as_server_user() {  # run a command as the server's user, from a directory it may enter
  (cd / && "${PG_RUN[@]}" "$@")
}

_pg_free_port() {
  local py=python3
  [ -x "$_PG_ROOT/.venv/bin/python" ] && py="$_PG_ROOT/.venv/bin/python"
  "$py" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_pg_password() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

pg_start() {
  PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
  local b
  for b in initdb pg_ctl pg_isready psql; do
    [ -x "$PG_BIN/$b" ] || _pg_die "$PG_BIN/$b not found: install PostgreSQL 15 (bash scripts/setup.sh --test)"
  done

  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || _pg_die "no 'postgres' system user (PostgreSQL refuses to run as root)"
    PG_RUN=(runuser -u postgres --)
  else
    PG_RUN=()
  fi

  PG_TMP=$(mktemp -d /tmp/bargaining-pg.XXXXXX)
  chmod 700 "$PG_TMP"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_TMP"
  local data="$PG_TMP/data" sock="$PG_TMP/sock" log="$PG_TMP/server.log"
  _pg_as_server_user mkdir -m 700 "$sock"

  if ! _pg_as_server_user "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$PG_TMP/initdb.log" 2>&1; then
    cat "$PG_TMP/initdb.log" >&2
    _pg_die "initdb failed"
  fi
  cat >>"$data/postgresql.conf" <<CONF

# --- scripts/pg.sh: private throw-away test server ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
timezone = 'UTC'
CONF

  local attempt port=
  for attempt in 1 2 3; do
    port=$(_pg_free_port)
    printf "port = %s\n" "$port" >>"$data/postgresql.conf"  # the last setting wins
    if _pg_as_server_user "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1; then
      break
    fi
    if [ "$attempt" -lt 3 ] && grep -q 'could not bind\|could not create any TCP/IP sockets' "$log" 2>/dev/null; then
      _pg_log "port $port taken meanwhile; retrying"
      continue
    fi
    _pg_log "server log ($log):" >&2
    cat "$log" >&2 || true
    _pg_die "PostgreSQL failed to start"
  done

  local i
  for i in $(seq 1 60); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 && break
    if [ "$i" -eq 60 ]; then
      cat "$log" >&2 || true
      _pg_die "PostgreSQL on 127.0.0.1:$port is not ready after 30s"
    fi
    sleep 0.5
  done

  local owner_pw app_pw
  owner_pw=$(_pg_password)
  app_pw=$(_pg_password)
  if ! _pg_as_server_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres \
      >"$PG_TMP/psql.log" 2>&1 <<SQL
CREATE ROLE $PG_OWNER LOGIN CREATEDB PASSWORD '$owner_pw';
CREATE ROLE $PG_APP LOGIN PASSWORD '$app_pw';
GRANT $PG_APP TO $PG_OWNER;
GRANT pg_signal_backend TO $PG_OWNER;
CREATE DATABASE $PG_DB OWNER $PG_OWNER;
REVOKE ALL ON DATABASE $PG_DB FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE $PG_DB TO $PG_APP;
SQL
  then
    cat "$PG_TMP/psql.log" >&2
    _pg_die "creating roles and database failed"
  fi

  export BARGAINING_TEST_POSTGRES_URL="postgresql+psycopg://$PG_OWNER:$owner_pw@127.0.0.1:$port/$PG_DB"
  export BARGAINING_TEST_POSTGRES_ADMIN_URL="$BARGAINING_TEST_POSTGRES_URL"
  export BARGAINING_TEST_POSTGRES_APP_ROLE="$PG_APP"
  export BARGAINING_TEST_POSTGRES_APP_URL="postgresql+psycopg://$PG_APP:$app_pw@127.0.0.1:$port/$PG_DB"
  PG_PORT=$port
  PG_SOCKET_DIR=$sock
  _pg_log "PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') ready on 127.0.0.1:$port (database $PG_DB, roles $PG_OWNER, $PG_APP; dir $PG_TMP)"
}

pg_stop() {
  [ -n "${PG_TMP:-}" ] || return 0
  if [ -f "$PG_TMP/data/postmaster.pid" ]; then
    _pg_as_server_user "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || _pg_log "warning: pg_ctl stop failed (dir $PG_TMP)" >&2
  fi
  rm -rf "$PG_TMP" || _pg_log "warning: could not remove $PG_TMP" >&2
  _pg_log "PostgreSQL stopped and removed"
  PG_TMP=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _pg_sleep=
  trap 'rc=$?; [ -z "$_pg_sleep" ] || kill "$_pg_sleep" 2>/dev/null; pg_stop; exit $rc' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pg_start
  if [ "$#" -gt 0 ]; then
    rc=0
    "$@" || rc=$?
    exit "$rc"
  fi
  printf 'export %s=%q\n' \
    BARGAINING_TEST_POSTGRES_URL "$BARGAINING_TEST_POSTGRES_URL" \
    BARGAINING_TEST_POSTGRES_ADMIN_URL "$BARGAINING_TEST_POSTGRES_ADMIN_URL" \
    BARGAINING_TEST_POSTGRES_APP_ROLE "$BARGAINING_TEST_POSTGRES_APP_ROLE" \
    BARGAINING_TEST_POSTGRES_APP_URL "$BARGAINING_TEST_POSTGRES_APP_URL"
  printf '# psql: %q -h %q -p %s -U postgres %s   (as the server user)\n' "$PG_BIN/psql" "$PG_SOCKET_DIR" "$PG_PORT" "$PG_DB"
  _pg_log "running until Ctrl-C"
  sleep infinity &
  _pg_sleep=$!
  wait "$_pg_sleep"
fi
