"""gunicorn settings for the portal (docker-compose.yml runs `gunicorn -c gunicorn.conf.py wsgi:app`)."""
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = 60  # a 10 MB upload on a slow phone connection needs time
accesslog = None  # the app writes its own request line, with secrets cut out
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Start each run with an empty Prometheus multiprocess folder, so old workers' figures do not linger."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    """Tell prometheus-client a worker is gone, so its live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
