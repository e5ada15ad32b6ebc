FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

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
CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8030", "--proxy-headers", "--timeout-graceful-shutdown", "20"]
