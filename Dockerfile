# One image for every CRM process; compose.yaml picks the process with `crm serve <name>`
# (a service, or the SMTP listener mailin-smtp), `crm migrate` or `crm sandbox`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# README* rather than README.md: pyproject.toml names it, but the build
# works without it.
COPY pyproject.toml README* ./
COPY cli ./cli
COPY crm ./crm
COPY emulations ./emulations
COPY providers ./providers
COPY services ./services
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/crm --create-home crm
USER crm
WORKDIR /var/lib/crm
# data_dir: made here, owned by crm, so that a volume mounted on it (compose.yaml's crm-data)
# starts owned by crm too.
RUN mkdir -p /var/lib/crm/var

# Listen on every interface inside the container; SQLite files (if no
# CRM_DATABASE_URL is given) go to the crm user's home.
ENV CRM_HOST=0.0.0.0 \
    CRM_PORT=8000 \
    CRM_DATA_DIR=/var/lib/crm/var

# HTTP (gateway), SMTP (mailin-smtp), metrics (every process).
EXPOSE 8000 2525 9400
CMD ["crm", "serve", "gateway"]
