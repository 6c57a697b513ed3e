# syntax=docker/dockerfile:1
# newsrec: one image for the HTTP service (default command) and the trainer (docker/trainer.sh).
# Build: docker build -t newsrec .   Run: see docker-compose.yml and docs/deploy.md.
# Needs BuildKit (the default builder since Docker 23) for RUN --mount and COPY --chmod.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: compilers live here only; it turns the project and every dependency into wheels
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# Compilers for any dependency without a wheel for this platform (most have manylinux wheels).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# README.md* : the glob lets the build go on in a checkout without a README
COPY pyproject.toml README.md* ./
COPY recommender ./recommender
COPY service ./service
# [dask]: the same image runs the optional Dask scheduler and workers (docs/scale.md)
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[dask]"

# --- runtime: Python, the installed wheels, a non-root user; no compilers, no pip cache
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    NEWSREC_HOST=0.0.0.0 \
    NEWSREC_PORT=8000 \
    NEWSREC_MODELS_DIR=/models \
    NEWSREC_STATE_DIR=/var/lib/newsrec/state
# The state dir holds live counts and article changes without Redis (shared by the workers).
# BLAS thread pools at 1: gunicorn runs several worker processes per core already, and each
# pool sized to every core would oversubscribe the CPU under load.

RUN groupadd --system --gid 10001 newsrec \
    && useradd --system --uid 10001 --gid newsrec --home-dir /home/newsrec --create-home \
       --shell /usr/sbin/nologin newsrec \
    && mkdir -p /models /data /var/lib/newsrec \
    && chown newsrec:newsrec /models /data /var/lib/newsrec
# The wheels are bind-mounted from the builder, so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels "newsrec[dask]"

WORKDIR /app
COPY --chmod=0755 docker/trainer.sh /app/docker/trainer.sh

USER newsrec
# Named volumes mounted here start with this ownership, so the non-root user can write them.
VOLUME ["/models", "/data"]
EXPOSE 8000

# Liveness only (the process answers): the service starts before the first bundle exists and
# answers 503 on /readyz until then, which must not get the container killed and restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('NEWSREC_PORT', '8000') + '/healthz', timeout=4)"]

CMD ["newsrec", "serve"]
