# musicapi-mock in a container:
#   docker build -t musicapi-mock .
#   docker run --rm -p 8000:8000 -e MUSICAPI_MOCK_CONTROL_TOKEN=change-me musicapi-mock
# It listens on every interface; the control plane (/_mock/*) then answers loopback peers only, unless
# MUSICAPI_MOCK_CONTROL_TOKEN is set (then every /_mock/* call needs "Authorization: Bearer <token>").
# /_mock/health stays open: it is the HEALTHCHECK below and a Kubernetes readiness probe.
# --build-arg EXTRAS=postgres adds psycopg, for a fleet over PostgreSQL (examples/fleet/compose.yaml).
FROM python:3.11-slim
ARG EXTRAS=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MUSICAPI_MOCK_HOST=0.0.0.0 \
    MUSICAPI_MOCK_PORT=8000

WORKDIR /src
# the symlink mockserver/openapi -> ../openapi is resolved by copying the specs into the package
COPY pyproject.toml README.md ./
COPY openapi/ ./openapi/
COPY mockserver/ ./mockserver/
RUN rm -f mockserver/openapi && cp -r openapi mockserver/openapi \
    && pip install ".${EXTRAS:+[$EXTRAS]}" \
    && useradd --system --uid 10001 --home-dir /home/mock --create-home mock \
    && rm -rf /src

USER mock
WORKDIR /home/mock
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('MUSICAPI_MOCK_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/_mock/health', timeout=2).status == 200 else 1)"]
CMD ["musicapi-mock", "serve"]
