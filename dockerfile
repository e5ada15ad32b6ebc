# Builder: the locked runtime set (every package pinned and hash-checked) in a venv at /opt/venv.
# Every locked package ships a wheel for CPython 3.11 on Linux x86_64, so nothing is compiled
# and no build tools are needed; a platform without such wheels would add them here only.
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --require-hashes -r /tmp/requirements.lock

# Runtime: the venv from the builder and the app, nothing else.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ENVIRONMENT=production \
    VIRTUAL_ENV=/opt/venv \
    PATH="/opt/venv/bin:$PATH"

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY . .
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/media \
    && chown -R app:app /app/media
USER app

EXPOSE 8030
# Liveness: GET /health answers 200 while the process serves (a down database or Redis shows as
# `degraded`, not as a failure). Standard library only: the slim image has no curl. Start-up
# runs the migrations first, hence the start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8030/health', timeout=4).status == 200 else 1)"]
# Start-up migrates under a lock, then serves. Graceful stop finishes in-flight requests.
# One process (uvicorn's --workers loses TCP_NODELAY). uvicorn's own X-Forwarded-For handling is
# off: the app reads it itself (TRUST_PROXY_HEADERS, TRUSTED_PROXY_HOPS), counting from the right.
CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8030", "--no-proxy-headers", "--no-access-log", "--timeout-graceful-shutdown", "20"]
