#!/usr/bin/env bash
# Run the demo on the embedded default: SQLite and a real Celery worker on a file-based broker.
set -euo pipefail
cd "$(dirname "$0")/.."
export TESSERA_DATA_DIR=${TESSERA_DATA_DIR:-$PWD/var}
PORT=${PORT:-8080}
BIN=.venv/bin
mkdir -p "$TESSERA_DATA_DIR"
$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py collectstatic --noinput -v0
$BIN/python manage.py tessera_demo

# -B runs beat inside the worker: the reaper re-queues a job whose worker died (the file-system
# broker never hands its message back) and removes orphaned uploads.
$BIN/celery -A tessera worker -B -s "$TESSERA_DATA_DIR/celerybeat-schedule" -Q default,prelabel -c 1 --loglevel=INFO \
  >"$TESSERA_DATA_DIR/worker.log" 2>&1 &
worker=$!
# Training runs on a worker of its own (the gpu queue, one run at a time): a run takes minutes to hours
# and must not hold up imports, exports and pre-labeling. On a machine without a GPU it trains on the CPU.
$BIN/celery -A tessera worker -n "gpu@%h" -Q gpu -c 1 --loglevel=INFO \
  >"$TESSERA_DATA_DIR/worker-gpu.log" 2>&1 &
gpu_worker=$!
trap 'kill $worker $gpu_worker 2>/dev/null; wait $worker $gpu_worker 2>/dev/null' EXIT INT TERM

echo "Tessera is at http://127.0.0.1:$PORT/  (API docs: http://127.0.0.1:$PORT/api/docs/; worker log: $TESSERA_DATA_DIR/worker.log)"
$BIN/gunicorn tessera.wsgi --bind "127.0.0.1:$PORT" --workers 2 --threads 4 --access-logfile - --log-level warning
