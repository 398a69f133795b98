"""`flask media ...`: set up, measure, check, back up and restore the proof store."""
import json
import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from .storage import StorageError

media_cli = AppGroup("media", help="Set up, measure, check, back up and restore the proof file store.")


def _storage():
    from . import storage

    return storage()


def _fail_cleanly(action):
    """Run action; turn a StorageError into one clear line and exit status 1."""
    try:
        return action()
    except StorageError as exc:
        raise click.ClickException(str(exc)) from exc


def _counter(label):
    """A progress callback that shows a running count on stderr."""
    seen = [0]

    def step(amount):
        seen[0] += amount
        click.echo(f"\r{label}: {seen[0]} objects", nl=False, err=True)

    return step


@media_cli.command("init")
def init_command():
    """Create the bucket if missing; turn on versioning, public access block, encryption and lifecycle rules."""
    config = current_app.config
    click.echo(f"Setting up {config['MEDIA_STORAGE_PROVIDER']} storage, bucket {config['MEDIA_STORAGE_BUCKET']}:")
    for step, outcome in _fail_cleanly(lambda: _storage().setup(config)):
        click.echo(f"  {step:<22} {outcome}")


@media_cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--bucket", "from_bucket", is_flag=True, help="Count the bucket itself (slow, exact).")
@click.option("--days", default=30, show_default=True, help="Days of upload history.")
def stats_command(as_json, from_bucket, days):
    """Objects, bytes and fill per business and in total, and uploads and rejections per day."""
    from .stats import bucket_figures, daily_activity, storage_figures

    figures = _fail_cleanly(lambda: bucket_figures(_storage())) if from_bucket else storage_figures()
    figures["days"] = daily_activity(days=days)
    if as_json:
        click.echo(json.dumps(figures, indent=1, ensure_ascii=False))
        return
    click.echo(f"Storage figures from the {figures['source']} (quota {figures['quota_bytes']} B)")
    click.echo(f"{'business':<32} {'objects':>8} {'bytes':>14} {'fill %':>8}")
    for row in figures["businesses"] + [dict(figures["total"], business="TOTAL")]:
        name = row["business"] or f"#{row['owner_id']}"
        click.echo(f"{name[:32]:<32} {row['objects']:>8} {row['bytes']:>14} {row['fill_percent']:>8.3f}")
    click.echo(f"\n{'day':<12} {'uploads':>8} {'bytes':>12} {'refused':>8}")
    for day in figures["days"]:
        if day["uploads"] or day["rejections"]:
            click.echo(f"{day['day']:<12} {day['uploads']:>8} {day['bytes']:>12} {day['rejections']:>8}")


@media_cli.command("verify")
@click.option("--fix", is_flag=True,
              help="Delete orphans, unclaimed incoming objects and stale pending uploads; queue stuck processing "
                   "again; make missing thumbnails; correct storage counters.")
@click.option("--grace-minutes", default=10.0, show_default=True,
              help="Unfinished uploads and requests younger than this are left alone (one may still be running).")
@click.option("--quick", is_flag=True, help="Compare sizes only, without reading every file for its sha256.")
def verify_command(fix, grace_minutes, quick):
    """Compare MediaObject rows with the bucket and the storage counters, and report every disagreement."""
    from ..extensions import db
    from ..models import MediaObject
    from .maintenance import repair, verify

    total = db.session.execute(db.select(db.func.count(MediaObject.id))).scalar()
    with click.progressbar(length=total, label="Checking", file=sys.stderr) as bar:
        findings = _fail_cleanly(lambda: verify(_storage(), grace=timedelta(minutes=grace_minutes),
                                                check_content=not quick, progress=bar.update))
    for finding in findings:
        mark = "fixable" if finding.fixable else "report "
        click.echo(f"[{mark}] {finding.kind:<18} {finding.key}  {finding.detail}")
    click.echo(f"{len(findings)} finding(s).")
    if fix:
        for line in _fail_cleanly(lambda: repair(_storage(), findings)):
            click.echo(f"fixed {line}")


@media_cli.command("backup")
@click.option("--to", "dest", required=True, help="s3://bucket (BACKUP_STORAGE_* for another endpoint) or a folder.")
def backup_command(dest):
    """Copy new and changed objects to DEST, write a manifest and verify it."""
    from .backup import backup, open_destination

    target = _fail_cleanly(lambda: open_destination(dest, current_app.config))
    _fail_cleanly(lambda: target.setup(current_app.config))  # a private, versioned backup bucket (or folder)
    report = _fail_cleanly(lambda: backup(_storage(), target, progress=_counter("Backing up")))
    click.echo(f"copied {report['copied']}, already there {report['skipped']}, manifest lists {report['objects']}"
               f" ({report['gone']} no longer in the bucket, kept)")
    for problem in report["problems"]:
        click.echo(f"PROBLEM {problem}")
    if report["problems"]:
        raise SystemExit(1)
    click.echo("manifest verified")


@media_cli.command("restore")
@click.option("--from", "source_dest", help="Restore from this backup (s3://bucket or folder); "
                                              "without it, from the bucket's own older versions.")
@click.option("--key", help="One object key.")
@click.option("--shift", "shift_id", type=int, help="Every proof of one shift.")
@click.option("--media", "media_id", type=int, help="One proof (file and thumbnail).")
@click.option("--all", "everything", is_flag=True, help="Everything.")
@click.option("--version-id", help="With --key and no --from: this exact older version.")
def restore_command(source_dest, key, shift_id, media_id, everything, version_id):
    """Bring proofs back: one object, one shift's, one media's, or all; from a backup or from old versions."""
    from .. import audit
    from ..cancellations import proofs_changed
    from ..extensions import db
    from .backup import keys_for, open_destination, read_manifest, restore_from_backup, restore_versions, undelete_rows

    if sum(bool(x) for x in (key, shift_id, media_id, everything)) != 1:
        raise click.UsageError("Say what to restore: one of --key, --shift, --media or --all.")
    if version_id and (source_dest or not key):
        raise click.UsageError("--version-id goes with --key and restores from the bucket's own history.")
    store = _storage()
    if source_dest:
        backup_store = _fail_cleanly(lambda: open_destination(source_dest, current_app.config))
        keys = keys_for(key=key, shift_id=shift_id, media_id=media_id, everything=everything,
                        manifest=read_manifest(backup_store) if everything else None)
        restored = _fail_cleanly(lambda: restore_from_backup(store, backup_store, keys))
    else:
        keys = keys_for(key=key, shift_id=shift_id, media_id=media_id, everything=everything)
        restored = _fail_cleanly(lambda: restore_versions(store, keys, version_id))
    back = undelete_rows(store, restored)
    for row in back:
        audit.record("media.restore", actor=None, owner_id=row.owner_id, shift_id=row.shift_id, media_id=row.id,
                     detail={"filename": row.original_filename, "from": source_dest or "versions"})
    proofs_changed([row.subject_id for row in back if row.context == "shift_cancellation"])
    db.session.commit()
    for restored_key in restored:
        click.echo(f"restored {restored_key}")
    click.echo(f"{len(restored)} object(s) restored.")


@media_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="List what would be deleted and when; delete nothing.")
@click.option("--within-days", default=0, show_default=True, type=click.IntRange(0, 3660),
              help="Also list requests whose retention ends within this many days.")
def retention_command(dry_run, within_days):
    """Delete for good the proofs of requests decided longer ago than their business keeps them (every version,
    thumbnail and backup copy in BACKUP_TARGETS); held requests are listed and kept."""
    from .. import retention

    def show(item, action):
        c = item.cancellation
        held = f"  hold: {item.hold.reason}" if item.hold else ""
        click.echo(f"{action:<13} business {c.owner_id} request {c.id} due {item.due_at:%Y-%m-%d %H:%M} UTC"
                   f"  files {len(item.media)}{held}")
        for row in item.media:
            click.echo(f"{'':<13} media {row.id} {row.storage_key}")

    deleted = _fail_cleanly(lambda: retention.run(dry_run=dry_run, within=timedelta(days=within_days),
                                                  on_item=show))
    click.echo("dry run: nothing deleted." if dry_run else f"{deleted} file(s) deleted for good.")
