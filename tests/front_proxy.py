"""The compose front proxy, run here: deploy/nginx's template rendered as the official image renders it, served by
Debian's nginx as a child process, in front of gunicorn running the real app. Loopback only, free ports."""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.s3_server import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "default.conf.template"
PLACEHOLDER = re.compile(r"\$\{(PORTAL_[A-Z0-9_]+)\}")


def render(template_text, values):
    """What the image's envsubst step does with NGINX_ENVSUBST_FILTER=^PORTAL_: fill ${PORTAL_*}, leave the rest."""
    missing = set(PLACEHOLDER.findall(template_text)) - set(values)
    assert not missing, f"no value for {sorted(missing)}"
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template_text)


def nginx_binary():
    """Debian's nginx, or a skip with the reason (a failure in CI, where .ci/run installs it)."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("nginx is missing; .ci/run installs it (apt-get install nginx-light)")
    pytest.skip("nginx is not installed (apt-get install nginx-light); the front proxy tests need it")


# The parts of the official image's /etc/nginx/nginx.conf that matter, with paths under the test's folder.
MAIN_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/conf/conf.d/*.conf;
}}
"""


class Nginx:
    """nginx in the foreground with its own prefix, config and temporary folders under `folder`."""

    def __init__(self, folder, values, port=None):
        self.folder, self.port = Path(folder), port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = self.folder / "conf"
        (conf / "conf.d").mkdir(parents=True)
        (self.folder / "tmp").mkdir()
        values = dict(values, PORTAL_LISTEN=f"127.0.0.1:{self.port}", PORTAL_RESOLVER="127.0.0.1")
        (conf / "conf.d" / "default.conf").write_text(render(TEMPLATE.read_text(), values))
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's private folders
        (conf / "nginx.conf").write_text(MAIN_CONF.format(user=user, prefix=self.folder))
        self.log = open(self.folder / "nginx.out", "wb")
        command = [nginx_binary(), "-p", str(self.folder), "-c", str(conf / "nginx.conf"),
                   "-e", str(self.folder / "error.log"), "-g", "daemon off;"]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for_http(self.url + "/static/css/portal.css", timeout=20)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"nginx did not start: {self.output()}") from None

    def output(self):
        """What nginx wrote: its stdout (the access log) and its error log."""
        parts = [self.folder / "nginx.out", self.folder / "error.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()


class Gunicorn:
    """gunicorn with the repository's gunicorn.conf.py and wsgi.py, on a free loopback port."""

    def __init__(self, folder, env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(folder) / "gunicorn.out"
        self.log = open(self.log_path, "wb")
        env = dict(os.environ, PORTAL_DOTENV="none", GUNICORN_BIND=f"127.0.0.1:{self.port}",
                   PROMETHEUS_MULTIPROC_DIR=str(Path(folder) / "prom"), **env)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for_http(self.url + "/healthz", timeout=40)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"gunicorn did not start: {self.output()}") from None

    def output(self):
        return self.log_path.read_text(errors="replace")

    def worker_pids(self):
        """The pids of the master's worker processes."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


def wait_until(condition, timeout=10.0, step=0.05):
    """Poll condition() until it is true; False after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
