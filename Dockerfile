# The roomkeeper image: `roomkeeper worker` by default, `roomkeeper gateway --host 0.0.0.0` with the same
# image. Built from pyproject.toml alone, without the Temporal dev server (the `dev-server` extra: a
# worker talks to a real Temporal) and without the dev tools. Runs as an unprivileged user.
#   docker build -t roomkeeper .
# Linted by `make lint` (hadolint); this machine has no container engine to build it.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md worker.py ./
COPY twilio_video/ twilio_video/
COPY calendar_feeds/ calendar_feeds/
COPY emulator/ emulator/
COPY common/ common/
COPY activities/ activities/
COPY workflows/ workflows/
COPY roomkeeper/ roomkeeper/
RUN python -m venv /opt/roomkeeper && /opt/roomkeeper/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin roomkeeper
COPY --from=build /opt/roomkeeper /opt/roomkeeper
# No .env is read from here: configuration comes from the environment and ROOMKEEPER_SECRETS_DIR.
WORKDIR /srv/roomkeeper
ENV PATH=/opt/roomkeeper/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
# 9464: the worker's /metrics, /healthz, /readyz; 8000: the gateway.
EXPOSE 9464 8000
ENTRYPOINT ["roomkeeper"]
CMD ["worker"]
