# One Streamlit process per container: a replica of the chat demo (or, with
# `python examples/chat/bot.py` as its command, the chat's bot).
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY streamlit_redis_state ./streamlit_redis_state
# The `demo` extra: the bot's sentiment lexicon (vaderSentiment) and tzdata.
RUN pip install --no-cache-dir ".[demo]"
COPY examples ./examples

ENV STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_CLIENT_TOOLBAR_MODE=minimal
EXPOSE 8501
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=2)"
CMD ["streamlit", "run", "examples/chat/app.py", "--server.port=8501", "--server.address=0.0.0.0"]
