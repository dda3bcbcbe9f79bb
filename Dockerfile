FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/hocvuso

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seed ./seed
RUN pip install -e . && useradd --system --home /srv/hocvuso hocvuso && chown hocvuso /srv/hocvuso
USER hocvuso

ENV ENVIRONMENT=production
EXPOSE 8000
# Migrate, seed (idempotent) and serve; DATABASE_URL, SECRET_KEY and PII_KEY come from the
# environment, and the service refuses default secrets in production.
CMD ["hocvuso", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
