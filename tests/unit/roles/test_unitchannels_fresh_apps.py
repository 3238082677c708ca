# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""The restart of a fresh unitd's apps (roles/unit/files/unitchannels_fresh_apps.py), installed as
the role installs it (beside module_utils/unit_http.py): against the fake Unit, and with a Unit
whose apps are still starting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.unitchannels.deploy.tests.unit import host_scripts


@pytest.fixture
def fresh(workdir):
    return host_scripts.load_installed(workdir, "unit", "unitchannels_fresh_apps", ["unit_http", "unit_address"])


class Clock(object):
    """time.monotonic and time.sleep of a test: sleeping moves the clock."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class StartingUnit(object):
    """A Unit whose control API answers after `down` seconds, and whose apps ({name: config})
    have a process starting until `ready` seconds (or always, when ready is None), and none
    running before `running_at`. A restart takes `restart_seconds`."""

    def __init__(self, clock, apps, down=0.0, ready=0.0, running_at=0.0, restart_seconds=0.0):
        self.clock, self.apps, self.down, self.ready = clock, apps, down, ready
        self.running_at, self.restart_seconds = running_at, restart_seconds
        self.restarts = []

    def request(self, method, path, body=None, timeout=None):
        if self.clock() < self.down:
            raise OSError(111, "Connection refused")
        if path == "/config/applications":
            return dict(self.apps)
        if path == "/status":
            starting = 1 if self.ready is None or self.clock() < self.ready else 0
            running = 1 if self.clock() >= self.running_at else 0
            return {"applications": {name: {"processes": {"running": running, "starting": starting}} for name in self.apps}}
        self.restarts.append((self.clock(), path))
        self.clock.sleep(self.restart_seconds)
        return {"success": "Ok"}


def test_restarts_each_app_of_the_fake_unit(fresh, fake, capsys, monkeypatch):
    monkeypatch.setattr(fresh.time, "sleep", lambda seconds: None)
    fake.config["applications"] = {"chat": {}, "admin site": {}}
    assert fresh.main(["--control", "unix:" + fake.socket_path, "--wait", "5"]) == 0
    assert [r.raw_path for r in fake.writes] == ["/control/applications/admin%20site/restart",
                                                 "/control/applications/chat/restart"]
    assert capsys.readouterr().out.splitlines() == ["unitchannels_fresh_apps: restarted admin site",
                                                    "unitchannels_fresh_apps: restarted chat"]


def test_no_app_no_restart(fresh, fake, capsys, monkeypatch):
    monkeypatch.setattr(fresh.time, "sleep", lambda seconds: None)
    fake.config["applications"] = {}
    assert fresh.main(["--control", "unix:" + fake.socket_path]) == 0
    assert fake.writes == []
    assert "no app to restart" in capsys.readouterr().out


def test_waits_for_the_control_api_and_the_first_processes(fresh):
    clock = Clock()
    unit = StartingUnit(clock, {"chat": {}}, down=2.0, ready=4.0)
    done = fresh.restart_fresh_apps(unit, wait=20, clock=clock, sleep=clock.sleep)
    assert done == ["restarted chat"]
    # Not before the processes of the first start are up, and the router's threads with them.
    assert len(unit.restarts) == 1 and unit.restarts[0][0] >= 4.0 + 0.5


def test_restarts_anyway_when_a_process_never_finishes_starting(fresh):
    clock = Clock()
    unit = StartingUnit(clock, {"chat": {}}, ready=None)
    done = fresh.restart_fresh_apps(unit, wait=10, clock=clock, sleep=clock.sleep)
    assert done == ["still starting after 10s: chat", "restarted chat"]
    assert 10 <= unit.restarts[0][0] < 13


def test_gives_up_without_failing_when_the_control_api_never_answers(fresh, workdir, capsys):
    missing = "unix:" + os.path.join(workdir, "none.sock")
    assert fresh.main(["--control", missing, "--wait", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("unitchannels_fresh_apps: gave up: (control API:") and "No such file" in out


def test_waits_until_the_processes_started_up_front_run(fresh):
    # Right after unitd started, the router has not begun to start them: nothing starting, none running.
    clock = Clock()
    unit = StartingUnit(clock, {"chat": {"processes": 2}, "lazy": {"processes": {"max": 4, "spare": 0}}}, running_at=3.0)
    done = fresh.restart_fresh_apps(unit, wait=20, clock=clock, sleep=clock.sleep)
    assert done == ["restarted chat", "restarted lazy"]
    assert unit.restarts[0][0] >= 3.0


def test_an_app_that_starts_no_process_up_front_is_restarted_at_once(fresh):
    clock = Clock()
    unit = StartingUnit(clock, {"lazy": {"processes": {"max": 4, "spare": 0}}}, running_at=float("inf"))
    assert fresh.restart_fresh_apps(unit, wait=20, clock=clock, sleep=clock.sleep) == ["restarted lazy"]
    assert unit.restarts[0][0] < 2


def test_never_runs_past_wait_and_ten_seconds(fresh):
    # systemd waits for the script: the apps it has no time left for are named, not restarted.
    clock = Clock()
    unit = StartingUnit(clock, {name: {} for name in "abcdef"}, ready=None, restart_seconds=4.0)
    done = fresh.restart_fresh_apps(unit, wait=10, clock=clock, sleep=clock.sleep)
    assert done[0] == "still starting after 10s: a, b, c, d, e, f"
    assert done[1:4] == ["restarted a", "restarted b", "restarted c"]
    assert done[4:] == ["not restarted d: out of time", "not restarted e: out of time", "not restarted f: out of time"]
    assert clock() <= 10 + 10 + 5


@pytest.mark.parametrize("control, endpoint", [
    ("*:8443", ("127.0.0.1", 8443)), ("0.0.0.0:8443", ("127.0.0.1", 8443)), ("[::]:8443", ("::1", 8443)),
    ("[::1]:8443", ("::1", 8443)), ("http://127.0.0.1:8443", ("127.0.0.1", 8443)),
])
def test_reaches_a_wildcard_control_address_on_loopback(fresh, control, endpoint):
    assert fresh.Unit(control).endpoint[1] == endpoint


def test_a_control_address_unitd_would_not_take_is_said(fresh, capsys):
    assert fresh.main(["--control", "control.sock", "--wait", "0"]) == 0
    assert "gave up: 'control.sock' is not a control address" in capsys.readouterr().out
