"""An S3 server behind a link of a set rate, instead of loopback: moto in a network namespace of its own,
reached over a veth pair whose two ends the kernel's token bucket filter (tc tbf) paces in both directions.

Loopback moves 4 MB in about a millisecond, so on loopback a raw put is mostly the store's own work and any
fixed cost of the app looks large beside it. A store in production sits across a network; this puts one
there, with the kernel doing the pacing (no relay process taking the CPU). Needs root and iproute2 (`ip`,
`tc`); tbf adds no delay of its own, so the link has a veth's round trip (tens of microseconds) and the rate.
"""
import os
import subprocess
import sys
from contextlib import contextmanager

from tests.s3_server import wait_for_http

SUBNET = "10.231.{n}.{host}"  # a /30 per run, picked from the process id so two runs do not meet


def _run(*args, namespace=None):
    command = (["ip", "netns", "exec", namespace] if namespace else []) + list(args)
    subprocess.run(command, check=True, capture_output=True, text=True)


def _pace(device, mbit, namespace=None):
    """Egress of the device at `mbit`; a bucket of 1/250 s of the rate (at least 64 KiB), so the rate holds
    within a few milliseconds whatever the kernel's timer frequency."""
    burst = max(64 * 1024, int(mbit * 1_000_000 / 8 / 250))
    _run("tc", "qdisc", "add", "dev", device, "root", "tbf", "rate", f"{mbit:g}mbit", "burst", str(burst),
        "latency", "200ms", namespace=namespace)


@contextmanager
def moto_behind_link(mbit):
    """(endpoint, "moto", (access key, secret key)) of a moto server across a link of `mbit` Mbit/s each way."""
    tag = f"spp{os.getpid() % 100000}"
    n = os.getpid() % 250 + 1
    host, store = SUBNET.format(n=n, host=1), SUBNET.format(n=n, host=2)
    namespace, near, far = f"{tag}-store", f"{tag}a", f"{tag}b"
    process = None
    try:
        _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", near, "type", "veth", "peer", "name", far)
        _run("ip", "link", "set", far, "netns", namespace)
        _run("ip", "addr", "add", f"{host}/30", "dev", near)
        _run("ip", "link", "set", near, "up")
        _run("ip", "addr", "add", f"{store}/30", "dev", far, namespace=namespace)
        _run("ip", "link", "set", far, "up", namespace=namespace)
        _run("ip", "link", "set", "lo", "up", namespace=namespace)
        _pace(near, mbit)  # what the app sends to the store
        _pace(far, mbit, namespace=namespace)  # what the store sends back
        endpoint = f"http://{store}:5000"
        process = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-m", "moto.server",
                                    "-H", store, "-p", "5000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_http(endpoint + "/moto-api/")
        yield endpoint, "moto", ("testing", "testing")
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        subprocess.run(["ip", "link", "del", near], capture_output=True)  # takes its peer with it
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
