# modelreg in a container: wheels built in one stage, installed into a clean
# runtime image in the next, run as a non-root user.
#
#   docker build -t modelreg .
#   docker run --rm -v modelreg-data:/data modelreg db upgrade
#   docker run -d -p 8000:8000 -v modelreg-data:/data modelreg       # serve
#
# tests/test_container_steps.py runs these same steps without Docker (a wheel,
# a clean venv, a non-root user, migrate, serve, this HEALTHCHECK), and
# tests/test_dockerfile.py lints this file (hadolint) and checks its rules.

FROM python:3.11-slim AS build

WORKDIR /src
# Only what the wheel is built from: pyproject.toml names README.md as its readme.
COPY pyproject.toml README.md ./
COPY schema/ schema/
COPY resolvers/ resolvers/
COPY webhooks/ webhooks/
COPY storage/ storage/
COPY server/ server/
COPY dashboard/ dashboard/
COPY mlflow_api/ mlflow_api/
# modelreg's wheel and a wheel of every dependency, so the runtime stage
# installs from local files only (no compiler, no index).
RUN pip wheel --no-cache-dir --wheel-dir /wheels .


FROM python:3.11-slim AS runtime

ENV PATH=/opt/modelreg/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MODELREG_HOST=0.0.0.0 \
    MODELREG_PORT=8000

# The wheels are mounted from the build stage, not copied: they stay out of the image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/modelreg \
    && /opt/modelreg/bin/pip install --no-cache-dir --no-index --find-links /wheels /wheels/modelreg-*.whl \
    && groupadd --system --gid 10001 modelreg \
    && useradd --system --no-log-init --uid 10001 --gid modelreg --home-dir /data --shell /usr/sbin/nologin modelreg \
    && mkdir -p /data \
    && chown modelreg:modelreg /data

# The SQLite default (./modelreg.db) and its key file (./modelreg.db.key) live
# here. With PostgreSQL set MODELREG_DATABASE_URL and MODELREG_SECRET_KEY instead.
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000

# Liveness only (/readyz says whether the database is usable). No curl in the
# slim image: the image's own Python asks, on the port serve listens on.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MODELREG_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["modelreg"]
CMD ["serve"]
