# The hub's image, for compose.yaml. The same package `pip install .` gives on a machine.
FROM python:3.11-slim
WORKDIR /srv/hub
# The TrueType CJK font embedded in certificates' PDFs (certificates.font_file).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-zenhei && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md alembic.ini ./
COPY config config
COPY gateway gateway
COPY ledger ledger
COPY adapters adapters
COPY sso sso
COPY trainings trainings
COPY supervision supervision
RUN pip install --no-cache-dir . && useradd --system hub && mkdir -p /srv/hub/var /srv/hub/keys && chown hub /srv/hub/var /srv/hub/keys
USER hub
EXPOSE 8080
ENTRYPOINT ["hub"]
