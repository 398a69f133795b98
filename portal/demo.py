"""Demo data: two businesses, each with an owner, a manager, three employees and two weeks of shifts."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .extensions import db
from .models import Shift, User, utcnow

DEMO_PASSWORD = "demo-pass-2026"

BUSINESSES = [
    {
        "name": "Кофейня «Утро»",
        "timezone": "Europe/Moscow",
        "domain": "utro.example",
        "places": ["Бар, Тверская 7", "Зал, Тверская 7"],
        "people": [
            ("owner", "owner", "Ольга Смирнова"),
            ("manager", "manager", "Михаил Орлов"),
            ("employee", "anna", "Анна Иванова"),
            ("employee", "boris", "Борис Петров"),
            ("employee", "vera", "Вера Кузнецова"),
        ],
    },
    {
        "name": "Пекарня «Колос»",
        "timezone": "Asia/Yekaterinburg",
        "domain": "kolos.example",
        "places": ["Цех, Ленина 12", "Прилавок, Ленина 12"],
        "people": [
            ("owner", "owner", "Григорий Волков"),
            ("manager", "manager", "Дарья Соколова"),
            ("employee", "egor", "Егор Лебедев"),
            ("employee", "zhanna", "Жанна Попова"),
            ("employee", "ilya", "Илья Морозов"),
        ],
    },
]

# (start hour, length in hours) of the shifts an employee works, by employee index.
SHIFT_PATTERNS = [(8, 8), (12, 8), (16, 6)]


def _get_or_create_user(email, **fields):
    user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
    if user is None:
        user = User(email=email, **fields)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
    return user


def _seed_business(spec, today):
    owner = _get_or_create_user(
        f"owner@{spec['domain']}", display_name=spec["people"][0][2], role="owner",
        business_name=spec["name"], timezone=spec["timezone"], language="ru",
    )
    owner.owner_id = owner.id
    users = [owner]
    for role, local, name in spec["people"][1:]:
        users.append(_get_or_create_user(
            f"{local}@{spec['domain']}", display_name=name, role=role, owner_id=owner.id, language="ru",
        ))
    employees = [u for u in users if u.role == "employee"]
    created = _seed_shifts(owner, employees, spec, today)
    return users, created


def _seed_shifts(owner, employees, spec, today):
    """Shifts from 7 days ago to 7 days ahead, five days a week each; existing ones are kept."""
    tz = ZoneInfo(spec["timezone"])
    created = 0
    for offset in range(-7, 8):
        day = today + timedelta(days=offset)
        for index, employee in enumerate(employees):
            if (day.toordinal() + index) % 7 in (5, 6):
                continue  # two days off a week, staggered
            hour, length = SHIFT_PATTERNS[index % len(SHIFT_PATTERNS)]
            starts_at = datetime.combine(day, time(hour), tzinfo=tz)
            exists = db.session.execute(
                db.select(Shift.id).filter_by(employee_id=employee.id, starts_at=starts_at)
            ).first()
            if exists:
                continue
            db.session.add(Shift(
                owner_id=owner.id, employee_id=employee.id, starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=length), title=spec["places"][index % len(spec["places"])],
            ))
            created += 1
    return created


def seed_demo(today=None):
    """Create the demo businesses (idempotent); return [(business, [users]), ...] and the shift count added."""
    today = today or utcnow().date()
    summary, total = [], 0
    for spec in BUSINESSES:
        users, created = _seed_business(spec, today)
        summary.append((spec["name"], users))
        total += created
    db.session.commit()
    return summary, total
