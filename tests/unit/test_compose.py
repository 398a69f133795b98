"""docker-compose.yml and its settings, read against the code (Docker does not run on our machines)."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = {"FLASK_APP", "PROMETHEUS_MULTIPROC_DIR", "GUNICORN_BIND", "GUNICORN_WORKERS", "FORWARDED_ALLOW_IPS"}


def settings_the_app_reads():
    """Every environment name the code reads: config.py's helpers and os.environ lookups."""
    names = set(EXTERNAL)
    for path in list((ROOT / "portal").rglob("*.py")) + [ROOT / "gunicorn.conf.py"]:
        text = path.read_text()
        names.update(re.findall(r'_env(?:_int|_bool|_list)?\("([A-Z0-9_]+)"', text))
        names.update(re.findall(r'os\.environ\.get\("([A-Z0-9_]+)"', text))
    return names


def env_file(path):
    pairs = {}
    for line in (ROOT / path).read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            pairs[match.group(1)] = line
    return pairs


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_stack_with_healthchecks_and_volumes():
    services = compose()["services"]
    assert {"db", "minio", "init", "app", "redis"} <= set(services)
    for name in ("db", "minio", "app", "redis"):
        assert "healthcheck" in services[name], name
    init = " ".join(services["init"]["command"])
    assert "flask db upgrade" in init and "flask media init" in init
    assert services["app"]["command"][:3] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert services["app"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert set(compose()["volumes"]) == {"db-data", "minio-data"}
    assert "9001:9001" in services["minio"]["ports"]  # the console


def test_every_setting_in_compose_and_env_files_is_one_the_app_reads():
    known = settings_the_app_reads()
    names = set(env_file(".env.compose")) | set(env_file(".env.example"))
    for service in compose()["services"].values():
        if any(".env.compose" in f for f in service.get("env_file", [])):
            names |= set(service.get("environment", {}))
    assert names - known == set()


def test_presigned_urls_work_from_the_hosts_browser():
    settings = env_file(".env.compose")
    assert "MEDIA_STORAGE_PUBLIC_BASE_URL=http://localhost:9000" in settings["MEDIA_STORAGE_PUBLIC_BASE_URL"]
    assert "minio:9000" in settings["MEDIA_STORAGE_ENDPOINT"]


def test_every_documented_setting_exists_in_the_code():
    section = (ROOT / "docs" / "settings.md").read_text()
    documented = set(re.findall(r"^\| ([A-Z][A-Z0-9_]+)", section, re.M))
    assert documented and documented - settings_the_app_reads() == set()


def test_compose_ships_no_secret_and_refuses_to_start_without_the_operators():
    shipped = env_file(".env.compose")
    assert "SECRET_KEY" not in shipped and "MEDIA_STORAGE_SECRET_KEY" not in shipped
    services = compose()["services"]
    assert services["minio"]["environment"]["MINIO_ROOT_PASSWORD"].startswith("${MINIO_ROOT_PASSWORD:?")
    for name in ("init", "app", "backup"):
        environment = services[name]["environment"]
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?"), name
        assert environment["MEDIA_STORAGE_SECRET_KEY"].startswith("${MINIO_ROOT_PASSWORD:?"), name
    text = (ROOT / "docker-compose.yml").read_text() + (ROOT / ".env.compose").read_text()
    assert "change-me" not in text.lower() and "dev-only" not in text.lower()


def test_compose_counts_sign_in_failures_in_redis_for_every_worker():
    assert env_file(".env.compose")["RATELIMIT_STORAGE_URI"] == "RATELIMIT_STORAGE_URI=redis://redis:6379/0"
    services = compose()["services"]
    assert services["redis"]["image"].startswith("redis:")
    assert services["app"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_seeds_demo_logins_only_outside_production():
    init = compose()["services"]["init"]["command"][-1]
    assert 'if [ "$$PORTAL_ENV" != production ]; then flask seed-demo; fi' in init
