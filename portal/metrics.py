"""Prometheus metrics: counters and histograms of what the app does, and storage gauges read from the database
at scrape time. Multiprocess-safe under gunicorn when PROMETHEUS_MULTIPROC_DIR is set."""
import ipaddress
import os
import secrets

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

bp = Blueprint("metrics", __name__)

UPLOADS = Counter("portal_uploads", "Proof files by outcome (stored, rejected, failed)", ["result"])
UPLOAD_BYTES = Counter("portal_upload_bytes", "Bytes of proof files stored")
UPLOAD_SECONDS = Histogram("portal_upload_duration_seconds",
                           "Request path of an upload: incoming puts and the commit of its rows",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
PROCESSING_SECONDS = Histogram("portal_processing_duration_seconds",
                               "A processing job from its start to its file ready or refused",
                               buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120))
PRESIGNED = Counter("portal_presigned_urls", "Presigned URLs issued", ["purpose"])
STORAGE_ERRORS = Counter("portal_storage_errors", "Storage failures by operation", ["operation"])


class StorageCollector:
    """Objects, bytes and fill ratio per business, computed from the database when scraped."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from .media.stats import storage_figures

        with self.app.app_context():
            figures = storage_figures()
        objects = GaugeMetricFamily("portal_media_objects", "Stored objects (files and thumbnails)", labels=["business"])
        size = GaugeMetricFamily("portal_media_bytes", "Stored bytes (files and thumbnails)", labels=["business"])
        fill = GaugeMetricFamily("portal_media_fill_ratio", "Stored bytes / MEDIA_STORAGE_QUOTA_BYTES",
                                 labels=["business"])
        for row in figures["businesses"] + [dict(figures["total"], owner_id="total")]:
            label = [str(row["owner_id"])]
            objects.add_metric(label, row["objects"])
            size.add_metric(label, row["bytes"])
            fill.add_metric(label, row["fill_ratio"])
        yield from (objects, size, fill)


def _registry():
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (UPLOADS, UPLOAD_BYTES, UPLOAD_SECONDS, PRESIGNED, STORAGE_ERRORS):
            registry.register(collector)
    registry.register(StorageCollector(current_app._get_current_object()))
    return registry


def allowed(config, remote_addr, authorization):
    """True when the scraper shows the token, or comes from an allowed network."""
    token = config.get("METRICS_TOKEN")
    if token and secrets.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in config.get("METRICS_ALLOW_NETWORKS", []))


@bp.route("/metrics")
def metrics():
    """The Prometheus text format; 404 for anyone without the token or an allowed address."""
    if not allowed(current_app.config, request.remote_addr, request.headers.get("Authorization")):
        abort(404)
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)
