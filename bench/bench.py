"""make bench: how long the project's runs take, and how fast the stack it builds serves.

Every comparison is a ratio of two things measured side by side in the same round, on
containers made from the same image; each round rotates the order of the compared commands,
and the table shows the median, min and max over the rounds (BENCH_ROUNDS, default 3).

  fresh_ratio   site.yml on a fresh host / bench/howto.sh (the howto's steps) on a fresh host
  fleet_ratio   site.yml on 4 fresh hosts / site.yml on 1 fresh host (the same run as above)
  fleet_scaling fleet_ratio / (howto.sh on 4 fresh hosts at once / on 1): what more hosts cost
                the role beyond what four containers sharing this machine's CPUs cost anything
  noop_ratio    site.yml on the converged host / bench/empty-play.yml (facts only), in
                BENCH_NOOP_TURNS turns per round (default 3): the median of the turns' ratios
  *_mitogen     the same runs under Mitogen's mitogen_linear strategy
  deploy_*      playbooks/deploy.yml of a new release (code only) under an HTTP request loop
  serve_*       chat page requests/s and chat deliveries/s: Unit / the better of Daphne and
                Uvicorn in the same container, set up alike: the same app, loader, environment
                and channel layer (BENCH_CHANNEL_LAYER: redis, the role's default, or
                redis-pubsub), and 2 processes each (Unit's processes are set to 2 for it)
  serve_*_spread how far the furthest round's ratio lies from their median (%)
  *_processes   chat page requests/s through Unit with 1, vCPUs and 2 x vCPUs app processes
                (what the role's default, two per vCPU, is based on)

With the stand-in packages the serving ratios describe the stand-in, not NGINX Unit: they are
written under standin_ keys and marked in the table.
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "harness"))
from run_play import summarise  # noqa: E402  (the recaps read as the molecule scenarios read them)
WORK = ROOT / ".cache" / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
IMAGE = os.environ.get("MOLECULE_IMAGE_DEBIAN12", "unitchannels-systemd:debian12")
REPO = Path(os.environ.get("UNIT_REPO_DIR", ROOT / ".cache" / "unit-repo"))
CA_FILE = Path(os.environ.get("MOLECULE_EXTRA_CA_FILE", "/etc/ssl/certs/ca-certificates.crt"))
# The fingerprint of the test key that signs the local repositories (make unit-repo).
REPO_KEY_FILE = ROOT / ".cache" / "unit-repo-key" / "fingerprint"
REPO_KEY_FINGERPRINT = REPO_KEY_FILE.read_text().strip() if REPO_KEY_FILE.exists() else ""
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
FLEET = 4
TURNS = int(os.environ.get("BENCH_TURNS", "5"))  # serving, the chat page: each server this often per round
WS_CYCLES = int(os.environ.get("BENCH_WS_CYCLES", "60"))  # serving, WebSocket: 1 s windows per server and round
NOOP_TURNS = int(os.environ.get("BENCH_NOOP_TURNS", "3"))  # no-op: site.yml and the empty play this often per round
HTTP_SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "3"))
CHANNEL_LAYER = os.environ.get("BENCH_CHANNEL_LAYER", "redis")  # the role's channels_app_channel_layer
SERVING_PROCESSES = 2  # each server's processes while serving is compared (Uvicorn, Daphne: 2 each)
PREFIX = "unitchannels-bench-"
DEMO = ROOT / "roles" / "channels_app" / "files" / "demo_project"
PROBE = ROOT / "harness" / "chat_probe"  # the directory runs with python3 DIR
STARTED = time.monotonic()

GOALS = {  # key: (operator, bound)
    "noop_ratio": ("<=", 4),
    "fresh_ratio": ("<=", 2),
    "fleet_scaling": ("<=", 1.15),
    "deploy_failed_requests": ("==", 0),
    "serve_http_ratio": (">=", 1.25),
    "serve_ws_ratio": (">=", 1.0),
    "serve_ws_ratio_spread": ("<=", 5),
}


class BenchError(Exception):
    pass


def say(message):
    minutes, seconds = divmod(int(time.monotonic() - STARTED), 60)
    print(f"[bench {minutes:02d}:{seconds:02d}] {message}", flush=True)


def run(argv, log=None, **kwargs):
    """Run argv; its output goes to log (a file under .cache/bench) or is captured."""
    if log is None:
        return subprocess.run(argv, check=True, text=True, capture_output=True, **kwargs).stdout
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        rc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, text=True, check=False, **kwargs).returncode
    if rc != 0:
        tail = log.read_text().splitlines()[-25:]
        raise BenchError(f"{' '.join(map(str, argv[:3]))} ... failed (rc {rc}); end of {log}:\n" + "\n".join(tail))
    return log.read_text()


def timed(argv, log, **kwargs):
    start = time.monotonic()
    output = run(argv, log, **kwargs)
    return time.monotonic() - start, output


# --- containers -------------------------------------------------------------------------


def docker(*args, **kwargs):
    return run(["docker", *args], **kwargs)


def start_hosts(names):
    """Fresh systemd containers from the test image, as the molecule scenarios create them."""
    for name in names:
        docker("rm", "-f", name)
        docker(
            "run", "-d", "--name", name, "--hostname", name,
            "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
            "--security-opt", "apparmor=unconfined",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "-v", f"{REPO}:/srv/unit-repo:ro",
            "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
            IMAGE, "/lib/systemd/systemd",
        )
    for name in names:
        deadline = time.monotonic() + 60
        while True:  # systemctl answers nothing until systemd's bus is up
            state = subprocess.run(["docker", "exec", name, "systemctl", "is-system-running", "--wait"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"container {name} did not boot (systemd says {state!r})")
            time.sleep(0.5)


def remove_hosts(names):
    if names:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)


def remove_all_bench_hosts():
    """Containers of this or an earlier, interrupted bench."""
    names = docker("ps", "-aq", "--filter", f"name=^{PREFIX}").split()
    remove_hosts(names)


def host_ip(name):
    return docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name).strip()


def inventory(hosts, connection="community.docker.docker"):
    """An inventory like inventory/single-host, one whole stack per host, over docker exec.

    Mitogen takes over connections by their short names (ssh, docker): its runs use "docker",
    which ansible-core routes to the same community.docker.docker plugin.
    """
    path = WORK / f"inventory-{hosts[0]}-{connection.rsplit('.', 1)[-1]}.yml"
    stack = {name: {} for name in hosts}
    data = {
        "all": {
            "vars": {
                "ansible_connection": connection,
                "ansible_python_interpreter": "/usr/bin/python3",
                "unit_source": "custom",
                "unit_repository_url": "file:/srv/unit-repo",
                "unit_repository_key_url": "file:///srv/unit-repo/key.asc",
                "unit_repository_key_fingerprints": [REPO_KEY_FINGERPRINT],
                "redis_container_compat": True,
                "channels_app_secret_key": "bench-secret-0123456789abcdef0123456789",
                "channels_app_channel_layer": CHANNEL_LAYER,
                "channels_app_allowed_hosts": ["localhost", "127.0.0.1"],
                "channels_app_pip_ca_file": str(CA_FILE),
            },
            "children": {"redis": {"hosts": stack}, "channels_apps": {"hosts": stack}},
        }
    }
    path.write_text(json.dumps(data, indent=2))  # JSON is YAML
    return path


def mitogen_env():
    """ansible-playbook's environment for Mitogen's strategy (installed by make venv)."""
    import ansible_mitogen  # noqa: F401 - the .venv's Python runs the bench

    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return dict(os.environ, ANSIBLE_STRATEGY_PLUGINS=str(plugins), ANSIBLE_STRATEGY="mitogen_linear")


def playbook(inv, play, log, extra=None, mitogen=False):
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inv), str(ROOT / play)]
    if extra:
        argv += ["-e", json.dumps(extra)]
    return timed(argv, log, cwd=ROOT, env=mitogen_env() if mitogen else None)


# --- the measurements -------------------------------------------------------------------


def fresh_site(round_no, mitogen=False):
    name = f"{PREFIX}site{round_no}{'-mitogen' if mitogen else ''}"
    start_hosts([name])
    inv = inventory([name], "docker") if mitogen else inventory([name])
    seconds, dummy = playbook(inv, "site.yml", WORK / f"site-fresh-{round_no}{'-mitogen' if mitogen else ''}.log",
                              mitogen=mitogen)
    return name, seconds


def fresh_fleet(round_no):
    names = [f"{PREFIX}fleet{round_no}-{i}" for i in range(1, FLEET + 1)]
    start_hosts(names)
    try:
        seconds, dummy = playbook(inventory(names), "site.yml", WORK / f"site-fleet-{round_no}.log")
    finally:
        remove_hosts(names)
    return seconds


def fresh_howto(round_no, hosts=1):
    """howto.sh on `hosts` fresh containers at once; seconds until the last one finished."""
    names = [f"{PREFIX}howto{round_no}-{i}" for i in range(1, hosts + 1)]
    start_hosts(names)
    bundle = WORK / "howto"
    errors = []

    def one(name):
        try:
            docker("cp", str(bundle), f"{name}:/root/howto")
            run(["docker", "exec", name, "bash", "/root/howto/howto.sh"], WORK / f"howto-{round_no}-{name}.log")
        except BenchError as exc:
            errors.append(exc)

    try:
        start = time.monotonic()
        threads = [threading.Thread(target=one, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return time.monotonic() - start
    finally:
        remove_hosts(names)


def howto_bundle():
    """What bench/howto.sh needs in the container: the demo app, the CA bundle, Unit's JSON."""
    bundle = WORK / "howto"
    shutil.rmtree(bundle, ignore_errors=True)
    shutil.copytree(DEMO, bundle / "project")
    shutil.copy(ROOT / "bench" / "howto.sh", bundle / "howto.sh")
    shutil.copy(CA_FILE, bundle / "ca.crt")
    config = {
        "listeners": {"*:80": {"pass": "routes"}},
        "routes": [
            {"match": {"uri": "/static/*"}, "action": {"share": "/srv/howto/src$uri"}},
            {"action": {"pass": "applications/djangochannels"}},
        ],
        "applications": {
            "djangochannels": {
                "type": "python 3.11",
                "path": "/srv/howto/src",
                "home": "/srv/howto/venv",
                "module": "mysite.asgi",
                "environment": {
                    "DJANGO_SETTINGS_MODULE": "mysite.settings",
                    "DJANGO_SECRET_KEY": "howto-bench-secret-not-used-elsewhere",
                    "CHANNEL_LAYER": CHANNEL_LAYER,
                },
            }
        },
    }
    (bundle / "unit.json").write_text(json.dumps(config, indent=2))


def rotate(items, k):
    k %= len(items)
    return items[k:] + items[:k]


def request_loop(url, stop, tally):
    """GET url (Host: localhost) 20 times a second until stop is set; count the failures."""
    request = urllib.request.Request(url, headers={"Host": "localhost"})
    while not stop.is_set():
        begin = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                ok = answer.status == 200
        except OSError:
            ok = False
        tally["ok" if ok else "failed"] += 1
        stop.wait(max(0, 0.05 - (time.monotonic() - begin)))


def new_release(n):
    """A copy of the demo app whose index page carries a marker: a code-only release."""
    path = WORK / "releases" / f"r{n}"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(DEMO, path)
    index = path / "chat" / "templates" / "chat" / "index.html"
    index.write_text(index.read_text() + f"<!-- bench release {n} {time.time()} -->\n")
    return path


def probe(host, *args):
    out = subprocess.run(["docker", "exec", host, "python3", "/usr/local/lib/chat_probe", *args],
                         capture_output=True, text=True, check=False)
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise BenchError(f"chat_probe {args[0]} gave no result: {out.stderr.strip()[-500:]}")
    if not result.get("ok"):
        raise BenchError(f"chat_probe {args[0]} failed: {result.get('reason')}")
    return result


SERVERS_SH = r"""
set -eu
# The bench talks to Unit's control socket with curl, which neither Unit nor the roles install.
command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl >/dev/null
# Daphne and Uvicorn serve the same app (the role's loader, the same environment) from a
# virtualenv of their own, as Unit's user.
cfg=$(curl -fsS --unix-socket /var/run/control.unit.sock http://localhost/config/applications/chat)
python3 - "$cfg" >/root/serve-env <<'EOF'
import json, shlex, sys
app = json.loads(sys.argv[1])
env = dict(app.get("environment", {}), UNITCHANNELS_UNIT_134_FIX="false")
paths = app["path"] if isinstance(app["path"], list) else [app["path"]]
env["PYTHONPATH"] = ":".join(paths)
print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items()))
print(f"cd {shlex.quote(app.get('working_directory', paths[0]))}")
print(f"APP_MODULE={shlex.quote(app['module'])}:application")
print(f"APP_REQS={shlex.quote(paths[-1])}")
EOF
. /root/serve-env
python3 -m venv /srv/bench-servers
/srv/bench-servers/bin/pip install -q --cert /root/ca.crt -r "$APP_REQS/requirements.txt" \
  -c "$APP_REQS/constraints.txt" daphne 'uvicorn[standard]'
chmod -R a+rX /srv/bench-servers
start() { systemd-run --unit "$1" --uid unit --gid unit --working-directory "$PWD" \
  $(env | grep -E '^(DJANGO_|UNITCHANNELS_|PYTHONPATH|DATABASE_URL|REDIS_URL|CHANNEL_)' | sed 's/^/--setenv=/') \
  "${@:2}"; }
# Two processes of each on two ports, the clients spread evenly over both. (Uvicorn's --workers 2
# leaves it to the kernel which worker accepts a connection: the 40 WebSocket clients split
# unevenly from run to run, and its deliveries/s swung between two levels with the split.)
start bench-uvicorn1 /srv/bench-servers/bin/uvicorn --host 127.0.0.1 --port 8001 --log-level warning "$APP_MODULE"
start bench-uvicorn2 /srv/bench-servers/bin/uvicorn --host 127.0.0.1 --port 8004 --log-level warning "$APP_MODULE"
start bench-daphne1 /srv/bench-servers/bin/daphne -b 127.0.0.1 -p 8002 "$APP_MODULE"
start bench-daphne2 /srv/bench-servers/bin/daphne -b 127.0.0.1 -p 8003 "$APP_MODULE"
"""


def in_turns(host, servers, order, command, *args):
    """chat_probe command against each server, TURNS times in turns; the results per server.

    A window of a few seconds swings by a sixth with the machine's slow spells; within one
    turn such a spell hits every server alike, so the ratios are taken turn by turn.
    """
    results = {name: [] for name in order}
    for turn in range(TURNS):
        for name in rotate(order, turn):
            results[name].append(probe(host, command, *servers[name], "--host", "localhost", *args))
    return results


def ws_in_windows(host, servers, order):
    """Chat deliveries/s of each server in WS_CYCLES windows of 1 s that alternate between them.

    Separate probe runs of 4 s put ten seconds between the figures of one turn, and their
    round ratios differed by up to 16 %. chat_probe alternate measures the servers a second
    apart, each window with its clients connected anew: with the clients kept connected for a
    round, how a server had spread them over its processes moved the whole round (a round's
    median 9,100 deliveries/s, the next 6,600). The others' lost messages are recorded; Unit may
    lose none.
    """
    specs = [f"--server={name}={','.join(servers[name][1::2])}" for name in order]
    result = probe(host, "alternate", *specs, "--host", "localhost", "--clients", "40", "--window", "1",
                   "--cycles", str(WS_CYCLES), "--max-lost", "1000000")
    lost = sum(window["lost"] for window in result["servers"]["unit"])
    if lost:
        raise BenchError(f"chat_probe alternate: Unit lost {lost} chat messages")
    return result["servers"]


def turn_ratios(results, key):
    """Per turn: Unit's figure / the better of the other servers' figures in the same turn."""
    others = [results[name] for name in results if name != "unit"]
    return [unit[key] / max(other[turn][key] for other in others) for turn, unit in enumerate(results["unit"])]


def serving(host, rounds):
    """Chat page requests/s and chat deliveries/s per server; returns samples per round."""
    say("serving: installing Daphne and Uvicorn next to the deployed app")
    docker("exec", host, "rm", "-rf", "/usr/local/lib/chat_probe")
    docker("cp", str(PROBE), f"{host}:/usr/local/lib/chat_probe")
    docker("cp", str(CA_FILE), f"{host}:/root/ca.crt")
    run(["docker", "exec", host, "bash", "-c", SERVERS_SH], WORK / "servers.log")
    servers = {
        "unit": ["--url", "http://127.0.0.1:80"],
        "uvicorn": ["--url", "http://127.0.0.1:8001", "--extra-url", "http://127.0.0.1:8004"],
        "daphne": ["--url", "http://127.0.0.1:8002", "--extra-url", "http://127.0.0.1:8003"],
    }
    for name, urls in servers.items():  # up and serving before any measurement
        for dummy in range(60):
            try:
                probe(host, "http-rate", *urls, "--host", "localhost", "--seconds", "1", "--concurrency", "1")
                break
            except BenchError:
                time.sleep(1)
        else:
            raise BenchError(f"{name} does not serve the chat page (see {WORK / 'servers.log'})")
    # Set up alike: Unit with as many processes as the others (the role's default is two per vCPU,
    # put back at the end).
    configured = run(["docker", "exec", host, "curl", "-fsS", "--unix-socket", "/var/run/control.unit.sock",
                      "http://localhost/config/applications/chat/processes"]).strip()
    unit_processes(host, SERVING_PROCESSES)
    samples = {name: {"http": [], "ws": [], "ws_p99_ms": [], "ws_lost": []} for name in servers}
    samples.update(http_ratio=[], ws_ratio=[])
    unit_server = ""
    for r in range(rounds):
        order = rotate(list(servers), r)
        # The chat page: requests/s with 8 clients asking in a loop.
        http = in_turns(host, servers, order, "http-rate", "--seconds", str(HTTP_SECONDS), "--concurrency", "8")
        unit_server = ", ".join(http["unit"][0]["servers"])
        # Chat deliveries/s at a steady pace (each client one message in flight).
        ws = ws_in_windows(host, servers, order)
        for name in order:
            rates = [t["requests_per_second"] for t in http[name]]
            deliveries = [t["deliveries_per_second"] for t in ws[name]]
            samples[name]["http"].append(statistics.median(rates))
            samples[name]["ws"].append(statistics.median(deliveries))
            samples[name]["ws_p99_ms"].append(statistics.median(t["latency_p99_ms"] for t in ws[name]))
            samples[name]["ws_lost"].append(sum(t["lost"] for t in ws[name]))
            say(f"serving round {r + 1}: {name}: {statistics.median(rates)} requests/s (median of {rates}); "
                f"{statistics.median(deliveries)} deliveries/s (median of {deliveries}), "
                f"p99 {samples[name]['ws_p99_ms'][-1]} ms, {samples[name]['ws_lost'][-1]} lost")
        for kind, turns, key in (("http", http, "requests_per_second"), ("ws", ws, "deliveries_per_second")):
            ratios = turn_ratios(turns, key)
            samples[f"{kind}_ratio"].append(statistics.median(ratios))
            say(f"serving round {r + 1}: {kind}: Unit / the better of the others: {statistics.median(ratios):.3f} "
                f"(median of {[round(x, 3) for x in ratios]})")
    unit_processes(host, configured)
    return samples, unit_server


def unit_processes(host, count):
    """Set the app's processes in Unit (the role's default is two per vCPU)."""
    run(["docker", "exec", host, "curl", "-fsS", "-X", "PUT", "-d", str(count), "--unix-socket",
         "/var/run/control.unit.sock", "http://localhost/config/applications/chat/processes"])


def sizing(host, rounds):
    """Chat page requests/s through Unit with 1, vCPUs and 2 x vCPUs app processes."""
    cpus = int(run(["docker", "exec", host, "nproc"]).strip())
    default = json.loads(run(["docker", "exec", host, "curl", "-fsS", "--unix-socket",
                              "/var/run/control.unit.sock", "http://localhost/config/applications/chat/processes"]))
    counts = sorted({1, cpus, 2 * cpus})
    samples = {n: [] for n in counts}
    try:
        for r in range(rounds):
            for n in rotate(counts, r):
                unit_processes(host, n)
                result = probe(host, "http-rate", "--url", "http://127.0.0.1:80", "--host", "localhost",
                               "--seconds", "10", "--concurrency", "8")
                samples[n].append(result["requests_per_second"])
                say(f"sizing round {r + 1}: {n} Unit app processes: {result['requests_per_second']} requests/s")
    finally:
        unit_processes(host, default)
    return samples


# --- results ----------------------------------------------------------------------------


def summary(values, unit):
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "samples": [round(v, 2) for v in values], "unit": unit}


def spread(values):
    """How far the furthest value lies from the median, in per cent of the median."""
    middle = statistics.median(values)
    return max(abs(v - middle) for v in values) / middle * 100


def goal_met(key, median):
    goal = GOALS.get(key.removeprefix("standin_"))
    if goal is None:
        return None
    op, bound = goal
    return {"<=": median <= bound, ">=": median >= bound, "==": median == bound}[op]


def machine():
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) // 1024 // 1024} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "docker": docker("version", "-f", "{{.Server.Version}}").strip(), "image": IMAGE}


def print_table(results):
    rows = [("key", "median", "min", "max", "goal", "met")]
    for key, value in results["figures"].items():
        goal = GOALS.get(key.removeprefix("standin_"))
        met = value.get("met")
        rows.append((key, f"{value['median']:g}", f"{value['min']:g}", f"{value['max']:g}",
                     f"{goal[0]} {goal[1]}" if goal else "-",
                     "-" if met is None else ("yes" if met else "NO")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for i, row in enumerate(rows):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    if results["unit_packages"] == "stand-in":
        print("\nstandin_ keys: served by the TEST STAND-IN of NGINX Unit, not by NGINX Unit.")


def main():
    for path, hint in ((VENV_BIN / "ansible-playbook", "make venv"), (REPO / "SOURCE", "make unit-repo"),
                       (REPO_KEY_FILE, "make unit-repo")):
        if not path.exists():
            raise BenchError(f"missing {path.relative_to(ROOT) if ROOT in path.parents else path} (run: {hint})")
    try:
        mitogen_env()
    except ImportError:
        raise BenchError("missing Mitogen in .venv (run: make venv)")
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode:
        raise BenchError(f"missing Docker image {IMAGE} (run: make images)")
    remove_all_bench_hosts()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    howto_bundle()
    say(f"{ROUNDS} rounds; logs in {WORK.relative_to(ROOT)}/")

    fresh = {"site": [], "howto": [], "fleet": [], "howto_fleet": [], "site_mitogen": []}  # seconds per round
    converged = None
    try:
        # What a ratio compares runs back to back (the howto between its two site runs), so that a
        # slow spell of minutes hits both; the order turns from round to round.
        groups = [["site", "howto", "site_mitogen"], ["fleet", "howto_fleet"]]
        for r in range(ROUNDS):
            steps = [step for group in rotate(groups, r) for step in (group if r % 2 == 0 else group[::-1])]
            for step in steps:
                say(f"round {r + 1}/{ROUNDS}: {step} on fresh containers")
                if step == "site":
                    name, seconds = fresh_site(r)
                    if converged:
                        remove_hosts([converged])
                    converged = name
                elif step == "site_mitogen":
                    name, seconds = fresh_site(r, mitogen=True)
                    remove_hosts([name])
                elif step == "howto":
                    seconds = fresh_howto(r)
                elif step == "howto_fleet":
                    seconds = fresh_howto(r, FLEET)
                else:
                    seconds = fresh_fleet(r)
                fresh[step].append(seconds)
                say(f"round {r + 1}/{ROUNDS}: {step} took {seconds:.1f} s")
        site, howto, fleet = fresh["site"], fresh["howto"], fresh["fleet"]

        inv, inv_mitogen = inventory([converged]), inventory([converged], "docker")
        # Each round: NOOP_TURNS turns of the four runs, back to back in a turning order; a turn's
        # ratio compares runs seconds apart, and the round's is the median of its turns' (one run
        # of a few seconds is at the mercy of one slow spell).
        noop_ratios, noop_ratios_mitogen = [], []  # per round
        noop, empty, noop_mitogen, empty_mitogen = [], [], [], []  # per round: median seconds
        noop_changed, noop_mitogen_changed = [], []  # per round: the most any of its runs changed
        for r in range(ROUNDS):
            runs = {"site": [], "empty": [], "site_mitogen": [], "empty_mitogen": []}
            changed = {"site": [], "site_mitogen": []}
            for t in range(NOOP_TURNS):
                for step in rotate(list(runs), r * NOOP_TURNS + t):
                    mitogen = step.endswith("_mitogen")
                    play = "site.yml" if step.startswith("site") else "bench/empty-play.yml"
                    seconds, out = playbook(inv_mitogen if mitogen else inv, play, WORK / f"noop-{r}-{t}-{step}.log",
                                            mitogen=mitogen)
                    runs[step].append(seconds)
                    if step in changed:
                        changed[step].append(summarise(out)["changed"])
            noop_ratios.append(statistics.median(a / b for a, b in zip(runs["site"], runs["empty"])))
            noop_ratios_mitogen.append(statistics.median(a / b for a, b in zip(runs["site_mitogen"], runs["empty"])))
            for values, step in ((noop, "site"), (empty, "empty"), (noop_mitogen, "site_mitogen"),
                                 (empty_mitogen, "empty_mitogen")):
                values.append(statistics.median(runs[step]))
            noop_changed.append(max(changed["site"]))
            noop_mitogen_changed.append(max(changed["site_mitogen"]))
            say(f"no-op round {r + 1}: site.yml / empty play {noop_ratios[-1]:.2f} (turns: "
                f"{', '.join('%.1f s / %.1f s' % pair for pair in zip(runs['site'], runs['empty']))}; "
                f"{noop_changed[-1]} changed); under Mitogen {noop_ratios_mitogen[-1]:.2f} "
                f"(site.yml {', '.join('%.1f' % s for s in runs['site_mitogen'])} s; {noop_mitogen_changed[-1]} changed)")

        deploy, failed = [], []
        url = f"http://{host_ip(converged)}/chat/"
        for r in range(ROUNDS):
            release = new_release(r)
            stop, tally = threading.Event(), {"ok": 0, "failed": 0}
            loop = threading.Thread(target=request_loop, args=(url, stop, tally))
            loop.start()
            try:
                seconds, dummy = playbook(inv, "playbooks/deploy.yml", WORK / f"deploy-{r}.log",
                                          {"channels_app_source": "directory", "channels_app_src": str(release)})
            finally:
                stop.set()
                loop.join()
            deploy.append(seconds)
            failed.append(tally["failed"])
            say(f"deploy round {r + 1}: {seconds:.1f} s, {tally['ok']} requests answered, "
                f"{tally['failed']} failed")

        serve, unit_server = serving(converged, ROUNDS)
        sizes = sizing(converged, ROUNDS)
    finally:
        if os.environ.get("BENCH_KEEP") != "1":  # BENCH_KEEP=1 leaves the converged host
            remove_all_bench_hosts()

    standin = "stand-in" in unit_server
    prefix = "standin_" if standin else ""
    figures = {
        "noop_ratio": summary(noop_ratios, "ratio"),
        "fresh_ratio": summary([a / b for a, b in zip(site, howto)], "ratio"),
        "deploy_seconds": summary(deploy, "s"),
        "deploy_failed_requests": summary(failed, "requests"),
        "fleet_ratio": summary([a / b for a, b in zip(fleet, site)], "ratio"),
        "fleet_scaling": summary([(f / s) / (hf / h) for f, s, hf, h in zip(fleet, site, fresh["howto_fleet"], howto)],
                                 "ratio"),
        "noop_ratio_mitogen": summary(noop_ratios_mitogen, "ratio"),
        "fresh_ratio_mitogen": summary([a / b for a, b in zip(fresh["site_mitogen"], howto)], "ratio"),
        prefix + "serve_http_ratio": summary(serve["http_ratio"], "ratio"),
        prefix + "serve_http_ratio_spread": summary([spread(serve["http_ratio"])], "%"),
        prefix + "serve_ws_ratio": summary(serve["ws_ratio"], "ratio"),
        prefix + "serve_ws_ratio_spread": summary([spread(serve["ws_ratio"])], "%"),
        "noop_changed": summary(noop_changed, "tasks"),
        "site_fresh_seconds": summary(site, "s"),
        "howto_fresh_seconds": summary(howto, "s"),
        "site_fleet_seconds": summary(fleet, "s"),
        "howto_fleet_seconds": summary(fresh["howto_fleet"], "s"),
        "site_noop_seconds": summary(noop, "s"),
        "empty_play_seconds": summary(empty, "s"),
        "site_fresh_mitogen_seconds": summary(fresh["site_mitogen"], "s"),
        "site_noop_mitogen_seconds": summary(noop_mitogen, "s"),
        "empty_play_mitogen_seconds": summary(empty_mitogen, "s"),
        "noop_mitogen_changed": summary(noop_mitogen_changed, "tasks"),
    }
    for name in ("unit", "uvicorn", "daphne"):
        figures[f"{prefix if name == 'unit' else ''}{name}_http_rps"] = summary(serve[name]["http"], "requests/s")
        key = f"{prefix if name == 'unit' else ''}{name}_ws"
        figures[f"{key}_deliveries_per_s"] = summary(serve[name]["ws"], "deliveries/s")
        figures[f"{key}_p99_ms"] = summary(serve[name]["ws_p99_ms"], "ms")
        figures[f"{key}_lost"] = summary(serve[name]["ws_lost"], "messages")
    for count, values in sizes.items():
        figures[f"{prefix}unit_http_rps_{count}_processes"] = summary(values, "requests/s")
    for key, value in figures.items():
        met = goal_met(key, value["median"])
        if key == "noop_ratio":
            met = met and max(noop_changed) == 0  # the goal is "<= 4, with 0 changed"
        value["met"] = met
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rounds": ROUNDS,
        "machine": machine(),
        "unit_packages": "stand-in" if standin else "real",
        "unit_repository": (REPO / "SOURCE").read_text().strip(),
        "serving_setup": {"processes_per_server": SERVING_PROCESSES, "channel_layer": CHANNEL_LAYER},
        "unit_server_header": unit_server,
        "figures": figures,
    }
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    say(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        say(f"FAILED: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
