# One image for the action server, the bot and the web front end (Python 3.11). Rasa's image is Dockerfile.rasa.

# The web pages' scripts and styles (Leaflet & co.) from npm, pinned by web/package-lock.json, copied as
# scripts/vendor_static.sh copies them at set-up: the pages are served without any CDN.
FROM node:20-slim AS static
WORKDIR /build
COPY web/package.json web/package-lock.json web/
COPY scripts/vendor_static.sh scripts/
RUN cd web && npm ci --ignore-scripts --no-audit --no-fund && cd .. && scripts/vendor_static.sh

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY actions actions
COPY community community
COPY web web
COPY --from=static /build/web/static/vendor web/static/vendor
COPY knowledge knowledge
# Editable, so the project root is /app (not site-packages): var/ (the map picture, the bot's heartbeat, the
# outbox journal) is /app/var, which the unprivileged user may write.
RUN pip install --no-cache-dir -e . && useradd --create-home xijin && mkdir -p var && chown xijin var
USER xijin
ENV KNOWLEDGE_DIR=/app/knowledge PYTHONUNBUFFERED=1
