# The API image: used by docker-compose for the migrate step and the API.
FROM python:3.11-slim
WORKDIR /srv/veerkracht
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY schema ./schema
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --system veerkracht
USER veerkracht
EXPOSE 8000
CMD ["veerkracht", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-bootstrap"]
