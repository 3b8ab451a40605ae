#!/usr/bin/env python3
"""End-to-end benchmark of entra-authmethods-exporter against its own Graph simulator.

Every figure is a ratio or a resource bound measured in one run on one machine (see bench/README.md):

  scrape    /metrics throughput and p99 with wrk at 1, 16 and 256 connections, beside nginx serving
            the very same exposition bytes as a static file
  sweep     full sweeps of 10k/100k/1M-user tenants with pacing off: wall time beside the time to
            merely download the same pages, peak RSS, CPU seconds, Graph requests
  paced     the same sweeps with the quota on, time-scaled: wall time beside the quota floor
            (pages x 2 s / scale), 429 answers
  tenants   1, 100 and 1000 tenants, scraped as Prometheus does (gzip, every second): idle RSS, peak
            RSS, exposition size plain and gzip, scrape time of each, first round
  startup   process start to first /metrics with a state file, and without it to the first
            complete poll of a 10k-user tenant
  steady    10, 100 and 1000 tenants polling every minute and 5000 every 10 minutes, quota off: RSS
            at rest, at the end and peak, CPU for 150 s unscraped then 150 s scraped with gzip every
            5 s, scrape latency median and maximum, exposition size plain and gzip (issue 16)

Only 127.0.0.1 is used. Needs wrk and nginx for `scrape` and GNU time for `sweep` and `paced`
(Debian: apt-get install wrk nginx-light time).
Results are printed as a Markdown table and written as JSON (--json).
"""

import argparse
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "entra-authmethods-exporter")
TENANT_ID = "3f1c6a2e-9b1d-4c5e-8a7f-0d2b4e6c8a10"
CLIENT_ID = "7a4d2c1b-5e3f-4a6b-9c8d-1e2f3a4b5c6d"
CLIENT_SECRET = "sim8Q~demo-secret-for-the-local-simulator-only"
SELECT = (
    "id,userType,isAdmin,isMfaCapable,isMfaRegistered,isPasswordlessCapable,isSsprCapable,"
    "isSsprEnabled,isSsprRegistered,isSystemPreferredAuthenticationMethodEnabled,methodsRegistered,"
    "userPreferredMethodForSecondaryAuthentication,lastUpdatedDateTime"
)
# Every report except registration_details is switched off, so a sweep is that report's pages alone.
OTHER_REPORTS = [
    "registration_summary", "credential_user_registration_count", "credential_usage_summary",
    "credential_user_registration_details", "user_credential_usage_details", "registration_activity",
    "sign_ins_by_method", "user_events_summary", "mfa_sign_in_summary", "password_resets_and_changes",
]
PAGE_SIZE = 1000
CLK_TCK = os.sysconf("SC_CLK_TCK")

RESULTS = {"machine": {}, "scrape": [], "sweep": [], "paced": [], "tenants": [], "startup": {}, "steady": []}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid, key):
    """A kB field of /proc/PID/status (VmRSS, VmHWM) in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def http_get(port, path, timeout=30, headers=None, with_headers=False):
    """(status, body) of a GET, and the response headers with `with_headers`. http.client sends
    `Accept-Encoding: identity` unless `headers` names one, and never decodes the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        return (r.status, body, r.headers) if with_headers else (r.status, body)
    finally:
        conn.close()


PROMETHEUS_ACCEPT = {"Accept-Encoding": "gzip"}


def wait_http(port, path="/healthz", timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            status, _ = http_get(port, path, timeout=5)
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port}{path}")


def wait_tcp(port, timeout=600):
    """Waits for a listener without sending a request (the simulator counts every request it gets)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def metric(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


class Simulator:
    def __init__(self, users, quota_requests=5, quota_window="0s"):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [BIN, "--log.level", "warn", "simulate", "--listen", f"127.0.0.1:{self.port}", "--users", str(users),
             "--quota-requests", str(quota_requests), "--quota-window", quota_window],
            stdout=subprocess.PIPE, text=True)
        wait_tcp(self.port)
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        """Stops it and returns the counters it prints at shutdown."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        m = re.search(r"simulator stats: (.*)", out)
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))} if m else {}


def exporter_config(sim_base, tenants=1, graph="", interval="1h", state_file=None):
    lines = []
    if state_file:
        lines.append(f'state_file = "{state_file}"')
    lines += ["[graph]", graph, ""]
    for i in range(tenants):
        lines += [
            "[[tenant]]", f'name = "t{i:04d}"', f'tenant_id = "{TENANT_ID}"', f'client_id = "{CLIENT_ID}"',
            f'client_secret = "{CLIENT_SECRET}"', f'graph_endpoint = "{sim_base}"', f'login_endpoint = "{sim_base}"',
            f'poll_interval = "{interval}"',
        ]
        for r in OTHER_REPORTS:
            lines += [f"[tenant.reports.{r}]", "enabled = false"]
        lines.append("")
    return "\n".join(lines)


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run_once(config_path):
    """`--once` as a child under GNU time: wall time, peak RSS, CPU seconds, and the exposition it
    prints. (A child's own ru_maxrss would start from this Python's RSS, inherited at fork.)"""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", timing.name, BIN, "--log.level", "warn", "--once", "--config",
             config_path], stdout=subprocess.PIPE, check=True)
        wall = time.perf_counter() - start
        max_kib, user, system = timing.read().split()[-3:]
    return wall, int(max_kib) / 1024, float(user) + float(system), proc.stdout.decode()


def download_only(sim):
    """Fetches every page as the exporter does (one keep-alive connection, next link after next link),
    without decoding: the floor of a sweep with pacing off."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=120)
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                   "client_secret": CLIENT_SECRET, "scope": "https://graph.microsoft.com/.default"})
    conn.request("POST", f"/{TENANT_ID}/oauth2/v2.0/token", form,
                 {"Content-Type": "application/x-www-form-urlencoded"})
    token = json.loads(conn.getresponse().read())["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Prefer": "include-unknown-enum-members"}
    path = f"/v1.0/reports/authenticationMethods/userRegistrationDetails?$top={PAGE_SIZE}&$select={SELECT}"
    pages = 0
    body_bytes = 0
    while path:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"page {pages}: HTTP {r.status}")
        pages += 1
        body_bytes += len(body)
        i = body.rfind(b'"@odata.nextLink":"')
        if i < 0:
            path = None
        else:
            link = body[i + 19:body.index(b'"', i + 19)].decode()
            path = link[len(sim.base):]
    conn.close()
    return time.perf_counter() - start, pages, body_bytes


# ---------------------------------------------------------------------------------------------------


def bench_sweep(tmp, sizes, repeats):
    for users in sizes:
        log(f"sweep: {users} users, pacing off")
        sim = Simulator(users, quota_window="0s")
        # Unpaced: a request limit far above what one sequential sweep can send.
        config = write(tmp, "sweep.toml", exporter_config(sim.base, graph="rate_limit_requests = 1000000\n"
                                                                         "rate_limit_period = \"1s\""))
        download_only(sim)  # warms the simulator (its sort order cache) for both sides alike
        downloads, sweeps = [], []
        for _ in range(repeats):
            downloads.append(download_only(sim))
            sweeps.append(run_once(config))
        sim.stop()
        d_wall = min(d[0] for d in downloads)
        pages, body_bytes = downloads[0][1], downloads[0][2]
        best = min(sweeps, key=lambda s: s[0])
        wall, _, cpu, text = best
        peak = max(s[1] for s in sweeps)
        requests = metric(text, "entra_authmethods_graph_requests_total", endpoint="userRegistrationDetails")
        tokens = metric(text, "entra_authmethods_token_requests_total", outcome="success")
        row = {"users": users, "pages": pages, "bytes": body_bytes, "download_s": round(d_wall, 3),
               "sweep_s": round(wall, 3), "ratio": round(wall / d_wall, 3), "peak_rss_mib": round(peak, 1),
               "cpu_s": round(cpu, 3), "graph_requests": int(requests), "token_requests": int(tokens),
               "users_per_cpu_s": round(users / cpu) if cpu else None, "load": loadavg()}
        log(f"  {row}")
        RESULTS["sweep"].append(row)


def bench_paced(tmp, sizes, scale):
    period = 10 / scale
    for users in sizes:
        log(f"paced sweep: {users} users, quota 5 per {period:g} s (time scale {scale}x)")
        sim = Simulator(users, quota_requests=5, quota_window=f"{int(period * 1000)}ms")
        config = write(tmp, "paced.toml", exporter_config(
            sim.base, graph=f"rate_limit_requests = 5\nrate_limit_period = \"{int(period * 1000)}ms\""))
        wall, peak, cpu, text = run_once(config)
        stats = sim.stop()
        pages = stats.get("pages_served", 0)
        floor = pages * 2 / scale
        row = {"users": users, "pages": pages, "scale": scale, "sweep_s": round(wall, 3),
               "floor_s": round(floor, 3), "ratio": round(wall / floor, 3) if floor else None,
               "throttled_sim": stats.get("throttled"),
               "throttled_exporter": int(metric(text, "entra_authmethods_graph_requests_total", code="429")),
               "graph_requests": stats.get("graph_requests"), "peak_rss_mib": round(peak, 1), "load": loadavg()}
        log(f"  {row}")
        RESULTS["paced"].append(row)


class Exporter:
    def __init__(self, config_path):
        self.port = free_port()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [BIN, "--log.level", "warn", "--config", config_path, "--web.listen-address", f"127.0.0.1:{self.port}"])

    def wait_for(self, predicate, timeout=600, every=0.005):
        """Polls /metrics until predicate(text) holds; returns seconds since the process started."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                status, body = http_get(self.port, "/metrics", timeout=5)
                if status == 200 and predicate(body.decode()):
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(every)
        raise RuntimeError("the exporter never got there")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def polls_done(n):
    return lambda text: metric(text, "entra_authmethods_polls_total", report="registration_details") >= n


class PrometheusLike(threading.Thread):
    """Scrapes /metrics every `interval` seconds with `Accept-Encoding: gzip`, as Prometheus does,
    until stopped: each scrape after a change renders and compresses the exposition once."""

    def __init__(self, port, interval=1.0):
        super().__init__(daemon=True)
        self.port, self.interval, self.stopped, self.scrapes = port, interval, threading.Event(), 0

    def run(self):
        while not self.stopped.wait(self.interval):
            try:
                http_get(self.port, "/metrics", timeout=60, headers=PROMETHEUS_ACCEPT)
                self.scrapes += 1
            except OSError:
                pass

    def stop(self):
        self.stopped.set()
        self.join(timeout=120)


def median_ms(times):
    times = sorted(times)
    return round(times[len(times) // 2] * 1000, 2)


def bench_tenants(tmp, counts, users):
    sim = Simulator(users, quota_window="0s")
    for n in counts:
        log(f"tenants: {n} tenants of {users} users")
        config = write(tmp, "tenants.toml", exporter_config(sim.base, tenants=n, graph="max_concurrent_polls = 16"))
        exp = Exporter(config)
        wait_http(exp.port)
        # The end of the round is read from /readyz (every report of every tenant polled once), which
        # renders nothing; the exposition is rendered only by the scraper, at Prometheus' pace.
        prometheus = PrometheusLike(exp.port)
        prometheus.start()
        deadline = time.time() + 900
        while http_get(exp.port, "/readyz")[0] != 200:
            if time.time() > deadline:
                raise RuntimeError("the first round never ended")
            time.sleep(0.05)
        first_round = time.perf_counter() - exp.started
        prometheus.stop()
        # One more scrape renders the state after the round: the peak includes it.
        _, gz, headers = http_get(exp.port, "/metrics", headers=PROMETHEUS_ACCEPT, with_headers=True)
        assert headers.get("Content-Encoding") == "gzip", headers
        text = gzip.decompress(gz)
        assert metric(text.decode(), "entra_authmethods_polls_total", report="registration_details") >= n
        peak = proc_status(exp.proc.pid, "VmHWM")
        time.sleep(2)
        idle = proc_status(exp.proc.pid, "VmRSS")
        gzip_times, plain_times = [], []
        for _ in range(20):
            t = time.perf_counter()
            _, body = http_get(exp.port, "/metrics", headers=PROMETHEUS_ACCEPT)
            gzip_times.append(time.perf_counter() - t)
            assert body == gz, "a scrape without a change serves the cached bytes"
        for _ in range(20):
            t = time.perf_counter()
            _, body = http_get(exp.port, "/metrics")
            plain_times.append(time.perf_counter() - t)
            assert body == text, "the plain text is the gzip copy's, byte for byte"
        idle_after_plain = proc_status(exp.proc.pid, "VmRSS")
        cpu = cpu_seconds(exp.proc.pid)
        exp.stop()
        row = {"tenants": n, "idle_rss_mib": round(idle, 1), "peak_rss_mib": round(peak, 1),
               "idle_rss_after_plain_mib": round(idle_after_plain, 1), "plain_bytes": len(text),
               "gzip_bytes": len(gz), "gzip_scrape_ms_median": median_ms(gzip_times),
               "plain_scrape_ms_median": median_ms(plain_times), "first_round_s": round(first_round, 2),
               "scrapes_during_round": prometheus.scrapes, "cpu_s": round(cpu, 2), "load": loadavg()}
        log(f"  {row}")
        RESULTS["tenants"].append(row)
    sim.stop()


def timed_scrape(port):
    t = time.perf_counter()
    status, body = http_get(port, "/metrics", timeout=60, headers=PROMETHEUS_ACCEPT)
    assert status == 200
    return time.perf_counter() - t, body


def bench_steady(tmp, fleets, users, phase, every):
    """A fleet at steady state: polls keep changing tenants one by one. After the first round and a
    scrape, RSS at rest and the median of 20 cached gzip scrapes; then `phase` seconds without
    scrapes and `phase` seconds scraped with gzip every `every` seconds, with the CPU of each, the
    scrape latencies, the RSS at the end and the peak over both (VmHWM reset at rest)."""
    sim = Simulator(users, quota_window="0s")
    for n, interval in fleets:
        log(f"steady: {n} tenants of {users} users polling every {interval}")
        config = write(tmp, "steady.toml", exporter_config(sim.base, tenants=n, interval=interval,
                                                           graph="max_concurrent_polls = 16"))
        exp = Exporter(config)
        wait_http(exp.port)
        deadline = time.time() + 1800
        while http_get(exp.port, "/readyz")[0] != 200:
            if time.time() > deadline:
                raise RuntimeError("the first round never ended")
            time.sleep(0.2)
        first_round = time.perf_counter() - exp.started
        timed_scrape(exp.port)
        time.sleep(2)
        rest = proc_status(exp.proc.pid, "VmRSS")
        cached = [timed_scrape(exp.port)[0] for _ in range(20)]
        # The peak from here on: the steady state's, not the first round's.
        with open(f"/proc/{exp.proc.pid}/clear_refs", "w") as f:
            f.write("5")
        cpu0, t0 = cpu_seconds(exp.proc.pid), time.perf_counter()
        time.sleep(phase)
        cpu1, t1 = cpu_seconds(exp.proc.pid), time.perf_counter()
        latencies, sizes = [], []
        while time.perf_counter() - t1 < phase:
            took, body = timed_scrape(exp.port)
            latencies.append(took)
            sizes.append(len(body))
            time.sleep(max(0.0, every - took))
        cpu2, t2 = cpu_seconds(exp.proc.pid), time.perf_counter()
        end = proc_status(exp.proc.pid, "VmRSS")
        peak = proc_status(exp.proc.pid, "VmHWM")
        _, gz = timed_scrape(exp.port)
        _, plain = http_get(exp.port, "/metrics", timeout=60)
        polls = metric(gzip.decompress(gz).decode(), "entra_authmethods_polls_total", report="registration_details")
        exp.stop()
        unscraped = (cpu1 - cpu0) / (t1 - t0) * 100
        scraped = (cpu2 - cpu1) / (t2 - t1) * 100
        row = {"tenants": n, "interval": interval, "first_round_s": round(first_round, 1),
               "rest_rss_mib": round(rest, 1), "end_rss_mib": round(end, 1), "peak_rss_mib": round(peak, 1),
               "cpu_unscraped_pct": round(unscraped, 2), "cpu_scraped_pct": round(scraped, 2),
               "cpu_ratio": round(scraped / unscraped, 2) if unscraped else None,
               "cached_scrape_ms_median": median_ms(cached), "scrape_ms_median": median_ms(latencies),
               "scrape_ms_max": round(max(latencies) * 1000, 2), "scrapes": len(latencies),
               "plain_bytes": len(plain), "gzip_bytes": len(gz), "polls_total": int(polls), "load": loadavg()}
        log(f"  {row}")
        RESULTS["steady"].append(row)
    sim.stop()


def bench_startup(tmp, users):
    sim = Simulator(users, quota_window="0s")
    state = os.path.join(tmp, "state.json")
    if os.path.exists(state):
        os.remove(state)
    config = write(tmp, "startup.toml", exporter_config(sim.base, state_file=state))
    log(f"startup: without a state file, to the first complete poll of {users} users")
    exp = Exporter(config)
    cold = exp.wait_for(polls_done(1), every=0.002)
    # The state file is written after the poll; wait for it before stopping.
    deadline = time.time() + 30
    while not os.path.exists(state) and time.time() < deadline:
        time.sleep(0.01)
    exp.stop()
    log("startup: with the state file, to the first /metrics serving the restored numbers")
    exp = Exporter(config)
    warm = exp.wait_for(lambda text: "entra_authmethods_users{" in text, every=0.002)
    exp.stop()
    sim.stop()
    RESULTS["startup"] = {"users": users, "cold_to_first_poll_s": round(cold, 3),
                          "with_state_to_metrics_s": round(warm, 3), "load": loadavg()}
    log(f"  {RESULTS['startup']}")


def nginx_start(tmp, body):
    www = os.path.join(tmp, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "metrics"), "wb") as f:
        f.write(body)
    # nginx's workers drop root for an unprivileged user: let them read the file.
    os.chmod(tmp, 0o755)
    os.chmod(www, 0o755)
    os.chmod(os.path.join(www, "metrics"), 0o644)
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off;
worker_processes {os.cpu_count()};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    types {{ }}
    default_type "text/plain; version=0.0.4; charset=utf-8";
    server {{
        listen 127.0.0.1:{port};
        root {www};
        location = /metrics {{ }}
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-p", tmp, "-c", conf])
    wait_http(port, "/metrics")
    return proc, port


def wrk(port, connections, duration):
    threads = min(connections, 2)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency",
         f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * factor, int(errors.group(1)) if errors else 0


def bench_scrape(tmp, users, duration, rounds):
    if not shutil.which("wrk") or not shutil.which("nginx"):
        log("scrape: wrk or nginx missing (apt-get install wrk nginx-light); skipped")
        return
    sim = Simulator(users, quota_window="0s")
    config = write(tmp, "scrape.toml", exporter_config(sim.base))
    exp = Exporter(config)
    exp.wait_for(polls_done(1), every=0.05)
    sim.stop()  # nothing polls again within the interval; the exposition stays the same bytes
    _, body = http_get(exp.port, "/metrics")
    nginx, nginx_port = nginx_start(tmp, body)
    status, nginx_body = http_get(nginx_port, "/metrics")
    if nginx_body != body:
        nginx.kill()
        exp.stop()
        raise RuntimeError(f"nginx must serve the very same bytes (HTTP {status}, see {tmp}/nginx-error.log)")
    log(f"scrape: {len(body)} bytes of exposition")
    for c in [1, 16, 256]:
        best = {"exporter": (0, 0, 0), "nginx": (0, 0, 0)}
        # Alternate the two servers so that background load hits both alike; keep each side's best.
        for _ in range(rounds):
            for name, port in [("exporter", exp.port), ("nginx", nginx_port)]:
                got = wrk(port, c, duration)
                if got[0] > best[name][0]:
                    best[name] = got
        e, n = best["exporter"], best["nginx"]
        row = {"connections": c, "bytes": len(body), "exporter_rps": e[0], "nginx_rps": n[0],
               "ratio": round(e[0] / n[0], 3), "exporter_p99_ms": e[1], "nginx_p99_ms": n[1],
               "non_2xx": e[2] + n[2], "load": loadavg()}
        log(f"  {row}")
        RESULTS["scrape"].append(row)
    exp.stop()
    nginx.send_signal(signal.SIGQUIT)
    nginx.wait(timeout=30)


def table():
    out = []
    if RESULTS["scrape"]:
        out += ["| connections | exporter req/s | nginx req/s | ratio | exporter p99 ms | nginx p99 ms | load |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        out += [f"| {r['connections']} | {r['exporter_rps']:.0f} | {r['nginx_rps']:.0f} | {r['ratio']:.2f} | "
                f"{r['exporter_p99_ms']:.2f} | {r['nginx_p99_ms']:.2f} | {r['load']} |" for r in RESULTS["scrape"]]
        out.append("")
    if RESULTS["sweep"]:
        out += ["| users | pages | download-only s | sweep s | ratio | peak RSS MiB | CPU s | Graph requests | "
                "tokens | load |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        out += [f"| {r['users']} | {r['pages']} | {r['download_s']:.3f} | {r['sweep_s']:.3f} | {r['ratio']:.2f} | "
                f"{r['peak_rss_mib']:.1f} | {r['cpu_s']:.2f} | {r['graph_requests']} | {r['token_requests']} | "
                f"{r['load']} |" for r in RESULTS["sweep"]]
        out.append("")
    if RESULTS["paced"]:
        out += ["| users | pages | scale | sweep s | floor s | ratio | 429 (sim/exporter) | Graph requests | load |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        out += [f"| {r['users']} | {r['pages']} | {r['scale']}x | {r['sweep_s']:.2f} | {r['floor_s']:.2f} | "
                f"{r['ratio']:.3f} | {r['throttled_sim']}/{r['throttled_exporter']} | {r['graph_requests']} | "
                f"{r['load']} |" for r in RESULTS["paced"]]
        out.append("")
    if RESULTS["tenants"]:
        out += ["| tenants | idle RSS MiB | peak RSS MiB | idle RSS after plain scrapes MiB | plain bytes | gzip bytes "
                "| gzip scrape ms | plain scrape ms | first round s | load |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        out += [f"| {r['tenants']} | {r['idle_rss_mib']:.1f} | {r['peak_rss_mib']:.1f} | "
                f"{r['idle_rss_after_plain_mib']:.1f} | {r['plain_bytes']:,} | {r['gzip_bytes']:,} | "
                f"{r['gzip_scrape_ms_median']:.2f} | {r['plain_scrape_ms_median']:.2f} | {r['first_round_s']:.2f} | "
                f"{r['load']} |" for r in RESULTS["tenants"]]
        out.append("")
    if RESULTS["steady"]:
        out += ["| tenants | interval | RSS rest / end / peak MiB | CPU % unscraped / scraped (ratio) | cached scrape ms "
                "| scrape ms median / max | plain bytes | gzip bytes | first round s | load |",
                "| ---: | ---: | --- | --- | ---: | --- | ---: | ---: | ---: | --- |"]
        out += [f"| {r['tenants']} | {r['interval']} | {r['rest_rss_mib']:.1f} / {r['end_rss_mib']:.1f} / "
                f"{r['peak_rss_mib']:.1f} | {r['cpu_unscraped_pct']:.2f} / {r['cpu_scraped_pct']:.2f} "
                f"({r['cpu_ratio']}) | {r['cached_scrape_ms_median']:.2f} | {r['scrape_ms_median']:.2f} / "
                f"{r['scrape_ms_max']:.2f} | {r['plain_bytes']:,} | {r['gzip_bytes']:,} | {r['first_round_s']:.1f} | "
                f"{r['load']} |" for r in RESULTS["steady"]]
        out.append("")
    if RESULTS["startup"]:
        s = RESULTS["startup"]
        out += [f"startup: first complete poll of {s['users']} users {s['cold_to_first_poll_s']:.3f} s after start; "
                f"with the state file, first /metrics with the numbers {s['with_state_to_metrics_s']:.3f} s "
                f"(load {s['load']})", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and short runs, for a smoke test")
    ap.add_argument("--only", action="append", choices=["scrape", "sweep", "paced", "tenants", "startup", "steady"],
                    help="run only these parts (repeatable)")
    ap.add_argument("--scale", type=float, default=10, help="time scale of the paced sweeps (default 10)")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--steady-seconds", type=float, default=150,
                    help="length of each phase of the steady state, unscraped then scraped (default 150)")
    ap.add_argument("--steady-fleets", default="10:1m,100:1m,1000:1m,5000:10m",
                    help="the steady state's fleets, tenants:interval (default 10:1m,100:1m,1000:1m,5000:10m)")
    ap.add_argument("--no-build", action="store_true", help="use target/release as it is")
    ap.add_argument("--bin", help="run this exporter binary (and its simulator) instead of target/release's; "
                    "implies --no-build, so two builds can be compared side by side")
    args = ap.parse_args()
    if args.bin:
        global BIN
        BIN = os.path.abspath(args.bin)
        args.no_build = True
    parts = args.only or ["scrape", "sweep", "paced", "tenants", "startup", "steady"]
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    RESULTS["machine"] = {"cpu": cpu, "cores": os.cpu_count(), "kernel": os.uname().release,
                          "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30),
                          "load_at_start": loadavg(), "quick": args.quick}
    log(f"machine: {RESULTS['machine']}")
    tmp = tempfile.mkdtemp(prefix="entra-bench-")
    try:
        if "scrape" in parts:
            bench_scrape(tmp, 3000, 2 if args.quick else 10, 1 if args.quick else 2)
        if "sweep" in parts:
            bench_sweep(tmp, [10_000, 30_000] if args.quick else [10_000, 100_000, 1_000_000], 1 if args.quick else 3)
        if "paced" in parts:
            bench_paced(tmp, [10_000] if args.quick else [10_000, 100_000, 1_000_000], args.scale)
        if "tenants" in parts:
            bench_tenants(tmp, [1, 20] if args.quick else [1, 100, 1000], 1000)
        if "startup" in parts:
            bench_startup(tmp, 10_000)
        if "steady" in parts:
            fleets = [(int(n), i) for n, i in (f.split(":") for f in args.steady_fleets.split(","))]
            if args.quick:
                fleets = [(10, "1m"), (100, "1m")]
            bench_steady(tmp, fleets, 1000, 20 if args.quick else args.steady_seconds, 5)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(table())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(RESULTS, f, indent=2)


if __name__ == "__main__":
    main()
