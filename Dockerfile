# Firstline: a small image running `firstline serve` as a non-root user.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY schedules ./schedules
COPY migrations ./migrations
RUN python -m venv /opt/firstline \
 && /opt/firstline/bin/pip install --upgrade pip \
 && /opt/firstline/bin/pip install '.[postgres]'

FROM python:3.11-slim
ENV PATH=/opt/firstline/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/firstline.db \
    PORT=3000
RUN useradd --uid 10001 --create-home --home-dir /home/firstline firstline \
 && mkdir /data && chown firstline /data
COPY --from=build /opt/firstline /opt/firstline
USER 10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=4)"
ENTRYPOINT ["firstline"]
CMD ["serve"]
