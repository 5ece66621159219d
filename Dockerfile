# CareLaunch production image: gunicorn (web), celery worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    CARELAUNCH_DATA_DIR=/app/var

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Translations and static files are built into the image. The throw-away values below only let the
# production settings load for collectstatic; real secrets come from the environment at run time.
RUN for dir in locale apps/*/locale apps/*/*/locale; do \
      [ -d "$dir" ] && pybabel compile -d "$dir" -D django -l zh_Hant; \
    done; \
    DJANGO_SECRET_KEY=build-only-not-secret \
    CARELAUNCH_ENCRYPTION_KEYS=$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
    DATABASE_URL=sqlite:///:memory: REDIS_URL=redis://build-only:6379/0 \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --home /app carelaunch && mkdir -p /app/var && chown carelaunch /app/var
USER carelaunch

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
