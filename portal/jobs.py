"""The processing queue: RQ on Redis when REDIS_URL is set; without it, jobs run inline in the request.

RQ's worker forks a work-horse for every job, so a decoder that crashes on a hostile file (PDFium, Pillow,
libheif) ends one job's process, never the worker or a web worker, and RQ retries the job. Any number of
`flask queue worker` processes, on any machines, take jobs from the same Redis queue.
"""
import importlib
import logging
import os
import resource
from contextlib import contextmanager

import click
import redis
from flask import current_app, has_app_context, has_request_context
from flask.cli import AppGroup

log = logging.getLogger("portal.jobs")
queue_cli = AppGroup("queue", help="Run processing workers (RQ on REDIS_URL).")
RESULT_TTL = 3600  # seconds a finished job's record stays in Redis
FAILURE_TTL = 7 * 86400  # a job that failed every retry stays visible for a week (verify re-queues its row)


class QueueUnavailableError(Exception):
    """Redis cannot be reached, so nothing may be accepted that no worker would ever process."""


def init_app(app):
    """Keep the app's RQ queue (or None: inline mode) in app.extensions; register `flask queue`."""
    app.extensions["queue"] = _build_queue(app.config) if app.config.get("REDIS_URL") else None
    app.cli.add_command(queue_cli)


def _build_queue(config):
    from rq import Queue

    # Short socket timeouts: a Redis that hangs answers an upload with 503 in seconds, not at nginx's deadline.
    connection = redis.Redis.from_url(config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
    return Queue(config["QUEUE_NAME"], connection=connection, default_timeout=config["QUEUE_JOB_TIMEOUT"])


def queue():
    """The app's RQ queue, or None when jobs run inline."""
    return current_app.extensions.get("queue")


def require_queue():
    """Raise QueueUnavailableError unless a job could be queued now (inline mode always can)."""
    rq_queue = queue()
    if rq_queue is None:
        return
    with _unavailable_on_redis_error():
        rq_queue.connection.ping()


@contextmanager
def _unavailable_on_redis_error():
    """A Redis failure inside becomes QueueUnavailableError (the views answer 503 with nothing stored)."""
    try:
        yield
    except redis.RedisError as error:
        raise QueueUnavailableError(f"Redis at REDIS_URL cannot be reached: {error}") from error


def enqueue(path, *args, description=None):
    """Queue the function at the dotted path with args for a worker, or run it now in inline mode."""
    prepare([(path, args, description)]).send()


class Batch:
    """Jobs built ahead of time and queued together by send(): the request builds them (RQ's Python work) while
    its store transfer runs, and sends them in one round trip to Redis once the rows they name are committed."""

    def __init__(self, pipeline=None, inline=()):
        self._pipeline, self._inline = pipeline, inline

    def send(self):
        """Queue the jobs (QueueUnavailableError if Redis fails), or run them now in inline mode."""
        if self._pipeline is None:
            for path, args, _ in self._inline:
                _run_inline(path, args)
            return
        with _unavailable_on_redis_error():
            self._pipeline.execute()


def prepare(calls):
    """A Batch of jobs, each (dotted path, args, description), for send() to queue (nothing is sent yet)."""
    calls = [(path, tuple(args), description or path) for path, args, description in calls]
    rq_queue = queue()
    if rq_queue is None:
        return Batch(inline=calls)
    from rq import Queue, Retry

    delays = current_app.config["QUEUE_RETRY_DELAYS"]
    retry = Retry(max=len(delays), interval=delays) if delays else None
    pipeline = rq_queue.connection.pipeline()
    with _unavailable_on_redis_error():  # the first use of a queue asks Redis its version
        rq_queue.enqueue_many([Queue.prepare_data(run, (path, *args), retry=retry, result_ttl=RESULT_TTL,
                                                  failure_ttl=FAILURE_TTL, description=description)
                               for path, args, description in calls], pipeline=pipeline)
    return Batch(pipeline=pipeline)


def _run_inline(path, args):
    """What a worker would do, in this process: a failure is logged, and the row waits for verify --fix."""
    try:
        run(path, *args)
    except Exception:
        log.exception("job %s%r failed; `flask media verify --fix` runs it again", path, args)


def run(path, *args):
    """The function RQ calls: the job at path, inside an app context (built here under a bare `rq worker`)."""
    job = _function(path)
    if has_app_context():
        return _run_then_mail(job, args)
    from . import create_app

    with create_app().app_context():
        return _run_then_mail(job, args)


def _function(path):
    """The function a job's dotted path names."""
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _run_then_mail(job, args):
    result = job(*args)
    if not has_request_context():  # a worker has no response to send after; inline jobs leave it to the request
        from . import mail

        mail.send_queued(current_app._get_current_object())
    return result


def limit_memory(limit):
    """Lower this process's data ceiling to limit bytes (never above a hard limit set from outside).

    RLIMIT_DATA, not RLIMIT_AS: it counts what the process writes to (heap, anonymous maps, thread stacks), not
    address space only reserved, so an allocator's reservations or threads' malloc arenas do not spend it. A
    decoder asking for more gets an allocation failure (MemoryError in Python, bad_alloc in qpdf) instead of
    the machine's OOM killer choosing a victim."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def _worker_class(memory_limit):
    """RQ's Worker, whose forked work-horses each run under the memory ceiling (the worker itself does not), and
    which queues a job's follow-up when every try of the job ended its work-horse."""
    from rq import Worker

    class PortalWorker(Worker):
        def main_work_horse(self, job, queue):
            if memory_limit:
                limit_memory(memory_limit)
            super().main_work_horse(job, queue)

        def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
            super().handle_work_horse_killed(job, retpid, ret_val, rusage)
            if not job.should_retry:  # the last try ended its process too
                after_last_crash(job.args)

    return PortalWorker


def after_last_crash(job_args):
    """Every try of a job ended its work-horse (a decoder crashing on its input, say; a Python error would have
    been caught): queue the job function's `after_last_crash`, a dotted path, with the same arguments, so what the
    job was for does not wait for ever. Queued, not run here: the worker opens no connection its forks inherit."""
    path, *args = job_args
    follow_up = getattr(_function(path), "after_last_crash", None)
    if follow_up is not None:
        log.warning("job %s%r ended its work-horse on every try; queued %s", path, tuple(args), follow_up)
        enqueue(follow_up, *args)


@queue_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst):
    """Process jobs from the queue, one forked work-horse per job (each under QUEUE_HORSE_MEMORY_MB), retrying
    failed ones."""
    from .extensions import db

    rq_queue = queue()
    if rq_queue is None:
        raise click.ClickException("REDIS_URL is not set: jobs run inline in the web process; no worker is needed.")
    memory_limit = current_app.config["QUEUE_HORSE_MEMORY_MB"] * 1024 * 1024  # a job's peak is tens of MB
    import pikepdf  # noqa: F401  (loaded once here, not in every forked work-horse)
    import pypdfium2  # noqa: F401

    from .media import images, storage  # noqa: F401  (Pillow's plugins too)

    storage().warm_up()  # each work-horse inherits the built client instead of loading botocore's model again
    db.engine.dispose()  # every work-horse opens its own database connections
    niceness = current_app.config["QUEUE_WORKER_NICE"]
    if niceness:
        os.nice(niceness)  # inherited by every work-horse: the web answers first when both share the CPUs
    worker = _worker_class(memory_limit)([rq_queue], connection=rq_queue.connection)
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
