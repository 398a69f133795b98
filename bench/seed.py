"""Synthetic data for the page benchmark, inserted by SQL in bulk (generate_series), so a million audit events
take a minute, not an hour.

A seeded database holds 50 businesses (one holds 20 % of everything), each with a manager and 10 employees;
`size` audit events; max(1,000, size / 10) cancellation requests with 3 proofs each; and, in business 1, two
weeks of 200 shifts: one with a request and 3 proofs on every shift, one without requests (the /shifts/ pair)."""
import sqlalchemy as sa

SEED_VERSION = 1
BUSINESSES, EMPLOYEES = 50, 10
WEEK_SHIFTS = 200
ACTIONS = ("media.upload", "media.view", "media.download", "media.delete", "media.reject", "media.restore",
           "media.api_links", "cancellation.request", "cancellation.withdraw", "cancellation.approve",
           "cancellation.reject")

# The business of row i: every fifth row is business 1's (20 %), the rest spread over businesses 2-50.
OWNER_OF = f"(CASE WHEN i % 5 = 0 THEN 1 ELSE 2 + i % {BUSINESSES - 1} END)"
EMPLOYEE_OF = f"({BUSINESSES * 2} + ({OWNER_OF} - 1) * {EMPLOYEES} + 1 + i % {EMPLOYEES})"

USERS = f"""
INSERT INTO users (id, email, display_name, password_hash, role, owner_id, active, business_name, timezone,
                   created_at, session_token)
SELECT b, 'owner' || b || '@bench.example', 'Owner ' || b, 'x', 'owner', b, true, 'Shop ' || b,
       'Europe/Moscow', now(), md5('owner' || b || random()) FROM generate_series(1, {BUSINESSES}) AS b;
INSERT INTO users (id, email, display_name, password_hash, role, owner_id, active, timezone, created_at,
                   session_token)
SELECT {BUSINESSES} + b, 'manager' || b || '@bench.example', 'Manager ' || b, 'x', 'manager', b, true,
       'Europe/Moscow', now(), md5('manager' || b || random()) FROM generate_series(1, {BUSINESSES}) AS b;
INSERT INTO users (id, email, display_name, password_hash, role, owner_id, active, timezone, created_at,
                   session_token)
SELECT {BUSINESSES * 2} + e, 'employee' || e || '@bench.example', 'Employee ' || e, 'x', 'employee',
       1 + (e - 1) / {EMPLOYEES}, true, 'Europe/Moscow', now(), md5('employee' || e || random())
FROM generate_series(1, {BUSINESSES * EMPLOYEES}) AS e;
"""

# Past shifts, one per request, each request with 3 proofs.
REQUESTS = f"""
INSERT INTO shifts (id, owner_id, employee_id, starts_at, ends_at, title, status, created_at)
SELECT i, {OWNER_OF}, {EMPLOYEE_OF}, now() - i * interval '7 minutes' - interval '30 days',
       now() - i * interval '7 minutes' - interval '30 days' + interval '8 hours', 'Till ' || (i % 7),
       'cancellation_requested', now() - interval '400 days'
FROM generate_series(1, :requests) AS i;
INSERT INTO shift_cancellations (id, owner_id, shift_id, employee_id, reason, status, decided_by_id, decided_at,
                                 created_at, submitted_at, updated_at)
SELECT i, {OWNER_OF}, i, {EMPLOYEE_OF}, 'Sick, note attached (' || i || ')',
       (ARRAY['pending', 'approved', 'rejected'])[1 + i % 3],
       CASE WHEN i % 3 = 0 THEN NULL ELSE {BUSINESSES} + {OWNER_OF} END,
       CASE WHEN i % 3 = 0 THEN NULL ELSE now() - i * interval '7 minutes' - interval '31 days' END,
       now() - i * interval '7 minutes' - interval '32 days', now() - i * interval '7 minutes' - interval '32 days',
       now() - i * interval '7 minutes' - interval '31 days'
FROM generate_series(1, :requests) AS i;
"""

# Three proofs of each request in [first, last]; media ids follow the request ids.
PROOFS = f"""
INSERT INTO media_objects (id, uuid, status, owner_id, context, subject_id, shift_id, storage_key, content_type,
                           size, sha256, original_filename, uploaded_by_id, uploader_role, created_at, uploaded_at,
                           thumbnail_key, thumbnail_size)
SELECT m, u, 'ready', c.owner_id, 'shift_cancellation', c.id, c.shift_id,
       'shift-cancellations/' || c.owner_id || '/' || c.shift_id || '/' || u || '.jpg', 'image/jpeg',
       200000 + m % 50000, md5(m::text) || md5(m::text), 'note-' || k || '.jpg', c.employee_id, 'employee',
       c.created_at, c.created_at,
       'shift-cancellations/' || c.owner_id || '/' || c.shift_id || '/' || u || '.thumb.webp', 9000 + m % 900
FROM shift_cancellations AS c, generate_series(0, 2) AS k,
     LATERAL (SELECT 3 * (c.id - 1) + k + 1 AS m) AS ids,
     LATERAL (SELECT md5('media' || m)::uuid::text AS u) AS token
WHERE c.id BETWEEN :first AND :last;
"""

EVENTS = f"""
INSERT INTO audit_events (id, at, actor_id, actor_role, action, owner_id, shift_id, media_id, ip, user_agent,
                          detail)
SELECT i, now() - i * interval '3 seconds', {EMPLOYEE_OF}, 'employee',
       (ARRAY{list(ACTIONS)})[1 + i % {len(ACTIONS)}], {OWNER_OF}, 1 + i % :requests, 1 + i % (3 * :requests),
       '203.0.113.' || (i % 250), 'Mozilla/5.0 (Linux; Android 14) bench/' || (i % 17),
       json_build_object('filename', 'note-' || (i % 3) || '.jpg', 'size', 200000 + i % 50000)
FROM generate_series(1, :events) AS i;
"""


def _week_monday_sql(weeks_ahead):
    return f"(date_trunc('week', now() AT TIME ZONE 'Europe/Moscow') + interval '{weeks_ahead} weeks')"


# Business 1: next week, 200 shifts each with a pending request and 3 proofs; the week after, 200 without.
WEEKS = f"""
INSERT INTO shifts (id, owner_id, employee_id, starts_at, ends_at, title, status, created_at)
SELECT :base + w * {WEEK_SHIFTS} + s, 1, {BUSINESSES * 2} + 1 + s % {EMPLOYEES},
       ({_week_monday_sql(1)} + w * interval '7 days' + (s % 7) * interval '1 day'
        + (8 + s % 10) * interval '1 hour') AT TIME ZONE 'Europe/Moscow',
       ({_week_monday_sql(1)} + w * interval '7 days' + (s % 7) * interval '1 day'
        + (16 + s % 6) * interval '1 hour') AT TIME ZONE 'Europe/Moscow',
       'Counter ' || s, CASE WHEN w = 0 THEN 'cancellation_requested' ELSE 'scheduled' END, now()
FROM generate_series(0, 1) AS w, generate_series(1, {WEEK_SHIFTS}) AS s;
INSERT INTO shift_cancellations (id, owner_id, shift_id, employee_id, reason, status, created_at, submitted_at,
                                 updated_at)
SELECT :base + s, 1, :base + s, {BUSINESSES * 2} + 1 + s % {EMPLOYEES}, 'Flu, note attached', 'pending',
       now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
FROM generate_series(1, {WEEK_SHIFTS}) AS s;
"""

COUNTERS = """
INSERT INTO business_storage (owner_id, objects, bytes)
SELECT owner_id, 2 * count(*), sum(size + coalesce(thumbnail_size, 0))
FROM media_objects WHERE status = 'ready' AND deleted_at IS NULL GROUP BY owner_id;
"""

# the daily roll-up (portal/media/daily.py), as migration 0011 fills it: days in each business's zone
DAYS = """
INSERT INTO business_days (owner_id, day, uploads, bytes, rejections)
SELECT owner_id, day, sum(uploads), sum(bytes), sum(rejections) FROM (
    SELECT m.owner_id, (m.uploaded_at AT TIME ZONE u.timezone)::date AS day, 1 AS uploads, m.size AS bytes,
           0 AS rejections
    FROM media_objects m JOIN users u ON u.id = m.owner_id WHERE m.status = 'ready' AND m.uploaded_at IS NOT NULL
    UNION ALL
    SELECT a.owner_id, (a.at AT TIME ZONE u.timezone)::date, 0, 0, 1
    FROM audit_events a JOIN users u ON u.id = a.owner_id WHERE a.action = 'media.reject'
) AS counted GROUP BY owner_id, day;
"""


def seeded_size(engine):
    """The size a database was seeded with by this version of the seed, or None."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("bench_seed"):
            return None
        row = conn.execute(sa.text("SELECT size FROM bench_seed WHERE version = :v"), {"v": SEED_VERSION}).first()
    return row[0] if row else None


def seed(engine, size):
    """Empty the portal's tables and fill them for `size` audit events (the schema must be at head)."""
    requests = max(1000, size // 10)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_seed"))
        conn.execute(sa.text("TRUNCATE business_days, business_storage, audit_events, media_objects, "
                             "shift_cancellations, shifts, users RESTART IDENTITY CASCADE"))
        conn.execute(sa.text(USERS))
        conn.execute(sa.text(REQUESTS), {"requests": requests})
        conn.execute(sa.text(WEEKS), {"base": requests})
        step = 20000  # proofs in slices, so one statement never holds a huge sort
        for first in range(1, requests + WEEK_SHIFTS + 1, step):
            conn.execute(sa.text(PROOFS), {"first": first, "last": first + step - 1})
        conn.execute(sa.text(EVENTS), {"events": size, "requests": requests})
        conn.execute(sa.text(COUNTERS))
        conn.execute(sa.text(DAYS))
        for table in ("users", "shifts", "shift_cancellations", "media_objects", "audit_events"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))"))
        conn.execute(sa.text("CREATE TABLE bench_seed (version int, size bigint)"))
        conn.execute(sa.text("INSERT INTO bench_seed VALUES (:v, :s)"), {"v": SEED_VERSION, "s": size})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return {"events": size, "requests": requests + WEEK_SHIFTS, "proofs": 3 * (requests + WEEK_SHIFTS)}
