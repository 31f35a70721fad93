# One image for the action server and the bot (Python 3.11). Rasa's image is Dockerfile.rasa.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY actions actions
COPY community community
COPY knowledge knowledge
# Editable, so the project root is /app (not site-packages): var/ (the map picture, the bot's heartbeat, the
# outbox journal) is /app/var, which the unprivileged user may write.
RUN pip install --no-cache-dir -e . && useradd --create-home xijin && mkdir -p var && chown xijin var
USER xijin
ENV KNOWLEDGE_DIR=/app/knowledge PYTHONUNBUFFERED=1
