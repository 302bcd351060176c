# One image for every motcua service: gateway, processor, writer, exporter, CLI.
#   docker build -t motcua:latest .
#   docker run motcua:latest motcua run gateway
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MOTCUA_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY services ./services
# the Avro schemas and the default plan targets are package data (settings.py)
RUN pip install --upgrade pip && pip install . \
    && useradd --system --uid 10001 --home /data motcua \
    && mkdir -p /data && chown motcua /data

USER motcua
VOLUME ["/data"]
EXPOSE 8080 9100 9101 9102
CMD ["motcua", "--help"]
