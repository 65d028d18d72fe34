# syntax=docker/dockerfile:1
#
# One image for the six services, the operator CLI and the OpenAI-compatible emulator.
#   docker build -t catalog-normalization .
#   docker run --rm catalog-normalization router            # python -m router (the default)
#   docker run --rm catalog-normalization batch_poller      # python -m batch_poller
#   docker run --rm --entrypoint catalog catalog-normalization migrate

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: install the distribution and its runtime dependencies into a virtualenv ------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Only what the distribution is built from (see [tool.setuptools] in pyproject.toml).
COPY pyproject.toml README* ./
COPY libs ./libs
COPY services ./services
COPY schemas ./schemas
# Runtime dependencies only: no [dev] and no [embedded] extras.
RUN pip install --no-cache-dir . \
    && find /opt/venv -type d -name __pycache__ -prune -exec rm -rf {} +

# ---- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG APP_UID=10001
ARG APP_GID=10001

LABEL org.opencontainers.image.title="catalog-normalization" \
      org.opencontainers.image.description="Kafka services that turn raw retail listings into master products and offers" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid "${APP_GID}" catalog \
    && useradd --system --uid "${APP_UID}" --gid catalog --home-dir /var/lib/catalog \
       --shell /usr/sbin/nologin catalog \
    && install -d -o catalog -g catalog -m 0750 /var/lib/catalog

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CATALOG_OBSERVABILITY__WEB_HOST=0.0.0.0 \
    CATALOG_OBSERVABILITY__WEB_PORT=8080

# Faust keeps its local state (<app>-data/) under the working directory: it must be writable.
WORKDIR /var/lib/catalog
USER ${APP_UID}:${APP_GID}

# Health (/health/live, /health/ready) and Prometheus metrics (/metrics).
EXPOSE 8080

ENTRYPOINT ["python", "-m"]
CMD ["router"]
