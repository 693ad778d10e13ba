# Firstline: `firstline serve` on port 3000 as a non-root user, SQLite in /data by default.
#   docker build -t firstline .
#   docker run -p 3000:3000 -v firstline-data:/data \
#     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET firstline
# PostgreSQL instead of SQLite: -e DATABASE_URL=postgresql+asyncpg://user:pw@host/db
# Microsoft Teams too: docker build --build-arg EXTRAS=postgres,teams -t firstline .
#
# Reproducible: both stages start from one base image pinned by version and digest, and every
# Python package is installed at the version in constraints.txt (written by scripts/lock).

# --- build: install Firstline (with asyncpg) into a self-contained venv -------------------
FROM python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16 AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY constraints.txt ./
RUN python -m venv /opt/firstline \
 && /opt/firstline/bin/pip install -c constraints.txt pip
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY schedules ./schedules
COPY migrations ./migrations
ARG EXTRAS=postgres
RUN /opt/firstline/bin/pip install -c constraints.txt ".[${EXTRAS}]" \
 && /opt/firstline/bin/python -m compileall -q /opt/firstline/lib \
 && /opt/firstline/bin/firstline --help >/dev/null

# --- runtime: the venv only ------------------------------------------------------------------
FROM python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16
ENV PATH=/opt/firstline/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/firstline.db \
    PORT=3000
RUN groupadd --gid 10001 firstline \
 && useradd --uid 10001 --gid 10001 --no-log-init --create-home --home-dir /home/firstline \
      --shell /usr/sbin/nologin firstline \
 && mkdir -p /data \
 && chown 10001:10001 /data
COPY --from=build /opt/firstline /opt/firstline
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORT:-3000}/healthz', timeout=4)" || exit 1
ENTRYPOINT ["firstline"]
CMD ["serve"]
