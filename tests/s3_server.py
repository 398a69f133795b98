"""The S3 servers the storage tests talk to over HTTP: moto's server mode (default) or Ceph RGW (TEST_S3=ceph)."""
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the server is up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {timeout} s")


class MotoServer:
    """moto in server mode, as a child process on a free loopback port."""

    kind = "moto"

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_http(self.endpoint + "/moto-api/")
        self.access_key, self.secret_key, self.region = "testing", "testing", "us-east-1"

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


class CephServer:
    """A Ceph RGW already started by scripts/ceph-s3.sh; its address and keys come from the environment."""

    kind = "ceph"

    def __init__(self):
        self.endpoint = os.environ.get("TEST_S3_ENDPOINT", "http://127.0.0.1:7480")
        self.access_key = os.environ.get("TEST_S3_ACCESS_KEY", "portaltestaccess")
        self.secret_key = os.environ.get("TEST_S3_SECRET_KEY", "portaltestsecret")
        self.region = os.environ.get("TEST_S3_REGION", "default")
        wait_for_http(self.endpoint, timeout=10)

    def stop(self):
        pass  # the script that started it stops it


@pytest.fixture(scope="session")
def s3_server():
    """The S3 implementation of this run: moto unless TEST_S3=ceph."""
    server = CephServer() if os.environ.get("TEST_S3") == "ceph" else MotoServer()
    yield server
    server.stop()
