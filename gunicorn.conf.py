"""gunicorn settings for the portal (docker-compose.yml runs `gunicorn -c gunicorn.conf.py wsgi:app`)."""
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# nginx in front buffers whole requests and answers, so a worker only ever talks to nginx over a fast link: a
# few threads per worker cover requests waiting on the store or the database, and no client can hold one.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30  # a stuck worker is replaced; a store call gives up within half of this (docs/deploy.md)
graceful_timeout = 30  # on restart, requests in flight may finish
keepalive = 5  # seconds an idle connection from nginx stays open
accesslog = None  # the app writes its own request line, with secrets cut out
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Start each run with an empty Prometheus multiprocess folder, so old workers' figures do not linger."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))


def post_worker_init(worker):
    """Build the store's client in each worker before its first request, which would otherwise pay for it."""
    app = worker.wsgi
    with app.app_context():
        from portal.media import storage

        storage().warm_up()


def child_exit(server, worker):
    """Tell prometheus-client a worker is gone, so its live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
