#!/usr/bin/env bash
# Run the whole suite: lint, then every test on PostgreSQL (with Redis and a real Celery worker) and,
# side by side, on SQLite, the embedded default. Without a reachable PostgreSQL (a laptop), SQLite only;
# in CI (CI=true) PostgreSQL is required.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export TESSERA_DATA_DIR=${TESSERA_DATA_DIR:-$(mktemp -d)}
export PYTHONUNBUFFERED=1
PG_URL=${TESSERA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/tessera}

if [ -f scripts/install_browser.sh ]; then
  bash scripts/install_browser.sh
fi

$BIN/ruff check .
$BIN/mypy  # type check: files, plugins and per-module rules in pyproject.toml's [tool.mypy]
npm --prefix frontend run --silent typecheck  # tsc --noEmit over the labeling app's TypeScript

echo "== manage.py check --deploy with production settings"
# The whole check, deployment checks included, must show no warning.
(
  export TESSERA_SECRET_KEY=$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(60))')
  export TESSERA_DEBUG=false TESSERA_ALLOWED_HOSTS=tessera.example.com TESSERA_SECURE_COOKIES=true
  export TESSERA_HSTS_SECONDS=31536000 TESSERA_HSTS_INCLUDE_SUBDOMAINS=true TESSERA_HSTS_PRELOAD=true
  export TESSERA_SSL_REDIRECT=true TESSERA_PROXY_SSL_HEADER=X-Forwarded-Proto=https
  env -u DATABASE_URL $BIN/python manage.py check --deploy --fail-level WARNING
)

echo "== docker-compose.yml"
if command -v docker-compose >/dev/null 2>&1; then
  POSTGRES_PASSWORD=ci TESSERA_SECRET_KEY=ci-only-not-a-secret TESSERA_ALLOWED_HOSTS=tessera.example.com \
    docker-compose -f docker-compose.yml config -q
elif [ "${CI:-}" = "true" ]; then
  echo "docker-compose is required in CI (apt-get install docker-compose)" >&2
  exit 1
else
  echo "docker-compose not installed: compose file not validated"
fi

pg_up() {
  $BIN/python - "$PG_URL" <<'PY'
import sys
import psycopg2
try:
    psycopg2.connect(sys.argv[1].replace("postgres://", "postgresql://"), dbname="postgres", connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

# Each pass has its own data folder and Redis database, so that the two can run at once. Each lists its
# 25 slowest tests at the end, so that a run's log shows where the suite's time goes.
PG_REDIS_URL=${TESSERA_TEST_REDIS_URL:-redis://127.0.0.1:6379/14}
SQLITE_REDIS_URL=${TESSERA_TEST_SQLITE_REDIS_URL:-redis://127.0.0.1:6379/15}
sqlite_pass() {
  env -u DATABASE_URL TESSERA_DATA_DIR="$(mktemp -d)" TESSERA_TEST_REDIS_URL="$SQLITE_REDIS_URL" \
    $BIN/pytest tests --durations=25 "$@"
}

status=0
if pg_up; then
  # The two passes run side by side: a pass keeps about one core busy (the test process; the
  # worker, browser and database mostly wait on it), so together they take little more than the
  # longer one. The SQLite pass's output is printed after the PostgreSQL pass's, whole.
  sqlite_log=$(mktemp)
  echo "== tests on PostgreSQL (the SQLite pass runs alongside; its output follows)"
  sqlite_pass "$@" > "$sqlite_log" 2>&1 &
  sqlite_pid=$!
  DATABASE_URL=$PG_URL TESSERA_TEST_REDIS_URL="$PG_REDIS_URL" $BIN/pytest tests --durations=25 "$@" || status=$?
  sqlite_status=0
  wait "$sqlite_pid" || sqlite_status=$?
  echo "== tests on SQLite"
  cat "$sqlite_log"
  rm -f "$sqlite_log"
  [ "$sqlite_status" -eq 0 ] || status=$sqlite_status
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is required in CI" >&2
  exit 1
else
  echo "== tests on SQLite"
  sqlite_pass "$@" || status=$?
fi
exit $status
