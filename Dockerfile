# Production-like image for the web server and the Celery workers (see docker-compose.yml).
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/ ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; else mkdir -p dist; fi

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 TESSERA_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tessera/ tessera/
COPY annotation/ annotation/
COPY exports/ exports/
COPY training/ training/
COPY frontend/ frontend/
COPY --from=frontend /src/frontend/dist frontend/dist
COPY manage.py ./
# The data directory holds the secret key and uploads: only the tessera user may enter it.
RUN pip install "torch==2.13.0" && pip install . && useradd --create-home tessera && mkdir -p /data && chown tessera /data && chmod 700 /data
USER tessera
EXPOSE 8000
CMD ["gunicorn", "tessera.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4"]
