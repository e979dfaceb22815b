# Byline service image. Not built in development (no Docker engine there): linted by hadolint.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    ORT_DISABLE_TELEMETRY=1 \
    BYLINE_INDEX_DIR=/app/data/index \
    BYLINE_MODEL_CACHE=/app/data/models \
    BYLINE_HOST=0.0.0.0 \
    BYLINE_PORT=8000

WORKDIR /app

# torch first, CPU-only, from PyTorch's CPU wheel index: PyPI's default build pulls CUDA.
COPY constraints.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

COPY pyproject.toml README.md ./
COPY index ./index
COPY service ./service
RUN pip install -c constraints.txt .

RUN useradd --create-home --uid 10001 byline \
    && mkdir -p /app/data \
    && chown 10001:10001 /app/data
COPY --chown=10001:10001 seeds ./seeds
USER 10001

# The seed index and the ONNX export of the model are part of the image: the container is
# ready seconds after it starts, and serving never imports torch. fp32, so the image does not
# depend on the builder's CPU; BYLINE_EMBED_PRECISION=auto then follows the index.
RUN BYLINE_EMBED_PRECISION=fp32 byline index seeds

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]

CMD ["uvicorn", "--factory", "service.app:app_from_env", "--host", "0.0.0.0", "--port", "8000"]
