"""The path of `make demo` on a fresh machine: migrate and seed a new SQLite file, serve, log in.

Runs the real commands in subprocesses, as the Makefile does, against a database file of its own.
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

MANAGE = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
STAFF_LOGINS = ["admin", "rep", "rep_ko", "marketer", "buyer"]
API_LOGINS = ["integration"]  # no web login: refused at the staff login like supplier users
SUPPLIER_LOGINS = ["supplier_admin", "supplier_member", "supplier_readonly", "supplier_b_admin"]


def run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [*MANAGE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=settings.BASE_DIR,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_in(base: str, username: str, password: str) -> tuple[int, str]:
    """Log in through the staff login form; answer the status and URL the browser would end on."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "the login page has no CSRF token"
    data = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token[1]}
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"}
    )
    response = opener.open(request)
    return response.status, response.geturl()


def test_migrate_seed_serve_and_log_in_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    run(env, "migrate", "--no-input")
    first = run(env, "seed_demo", "--if-empty", "--customers", "60")
    second = run(env, "seed_demo", "--if-empty", "--customers", "60")  # make demo twice: data kept
    password = re.search(r"^admin\s+(\S+)", first, re.MULTILINE)
    assert password, first
    for username in STAFF_LOGINS + SUPPLIER_LOGINS + API_LOGINS:
        assert re.search(rf"^{username}\s", first, re.MULTILINE), f"{username} not printed"
        assert re.search(rf"^{username}\s", second, re.MULTILINE), f"{username} not printed again"

    port = free_port()
    server = subprocess.Popen(
        [*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/admin/login/") as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("runserver did not answer")
        for username in STAFF_LOGINS:
            status, url = log_in(base, username, password[1])
            assert (status, urllib.parse.urlparse(url).path) == (200, "/"), username
        for username in SUPPLIER_LOGINS + API_LOGINS:  # refused at the staff login
            status, url = log_in(base, username, password[1])
            assert urllib.parse.urlparse(url).path == "/accounts/login/", username
    finally:
        server.terminate()
        server.wait(timeout=20)
