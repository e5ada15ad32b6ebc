FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ENVIRONMENT=production

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/media \
    && chown -R app:app /app/media
USER app

EXPOSE 8030
# Start-up migrates under a lock, then serves. Graceful stop finishes in-flight requests.
# One process (uvicorn's --workers loses TCP_NODELAY). uvicorn's own X-Forwarded-For handling is
# off: the app reads it itself (TRUST_PROXY_HEADERS, TRUSTED_PROXY_HOPS), counting from the right.
CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8030", "--no-proxy-headers", "--timeout-graceful-shutdown", "20"]
