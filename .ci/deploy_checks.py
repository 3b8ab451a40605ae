#!/usr/bin/env python3
"""Checks of the dashboards, rules and deploy files, used by .ci/deploy-checks.

Subcommands (each prints one line per finding and exits 1 if anything failed):
  dashboards                     structure of dashboards/*.json (datasource variable everywhere, uids, ...)
  exprs OUT                      write every dashboard expression into a rule file for `promtool check rules`
  families --pending A,B         the metric contract (docs/metrics.md) <-> families used by dashboards and rules
  alerts                         alert metadata, runbook anchors in docs/runbooks.md, unit-test coverage
  flags HELP_FILE                flags used by the deploy files exist in the binary's --help text
  configs BIN                    the deploy configurations pass `BIN --check-config`
  compose                        docker-compose.yml, Grafana provisioning and Prometheus config agree
  wait URL --pending A,B --timeout S
                                 poll a live Prometheus until the exporter is scraped and every recording
                                 rule that should have data has it (bounded by S seconds)
  e2e URL --pending A,B --scrape FILE
                                 evaluate every panel expression, variable and recording rule on a live
                                 Prometheus; check the live scrape against docs/metrics.md and the pending list

Python 3.9+ standard library plus PyYAML.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
# The metric tables (families) and the alert runbooks (one heading per alert) of the manual.
CONTRACT = ROOT / "docs" / "metrics.md"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
DS = {"type": "prometheus", "uid": "${datasource}"}
# Runbook links all start with this; change it in one place when the repository moves.
# Values the checks give Grafana's variables. A dashboard using any other variable fails the check,
# so the list stays complete.
VARIABLES = {
    "datasource": None,
    "tenant": ".*",
    "user_type": "all",
    "user_role": "all",
    "period": "d1",
    "group": ".*",
    "job": "entra-authmethods-exporter",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
}
VAR_RE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]")
RECORD_RE = re.compile(r"\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b")
FAMILY_RE = re.compile(r"(?<![:\w])(entra_authmethods_[a-z0-9_]+)")
LABEL_VALUES_RE = re.compile(r"^label_values\((.*),\s*(\w+)\)$")

failures = 0


def fail(msg):
    global failures
    failures += 1
    print(f"FAIL {msg}")


def ok(msg):
    print(f"ok   {msg}")


def done():
    return 1 if failures else 0


def parse_pending(value):
    return {p for p in (value or "").split(",") if p}


# --- model ------------------------------------------------------------------------------------------

def load_dashboards():
    out = []
    for path in DASHBOARDS:
        try:
            out.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as e:
            fail(f"{path.relative_to(ROOT)}: not valid JSON: {e}")
    return out


def panels(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        yield from p.get("panels", [])  # collapsed rows


def targets(dashboards):
    """(where, expr) for every query of every panel."""
    for path, d in dashboards:
        for p in panels(d):
            for t in p.get("targets", []):
                if "expr" in t:
                    yield f"{path.name} panel {p.get('title')!r} {t.get('refId')}", t["expr"]


def variable_queries(dashboards):
    for path, d in dashboards:
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") == "query":
                q = v.get("query")
                q = q.get("query") if isinstance(q, dict) else q
                yield f"{path.name} variable {v.get('name')}", q


def substitute(expr):
    unknown = set()

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in VARIABLES or VARIABLES[name] is None:
            unknown.add(name)
            return m.group(0)
        return VARIABLES[name]

    return VAR_RE.sub(repl, expr), unknown


def rule_groups():
    rules = {}
    for name in ("recording.yml", "alerts.yml"):
        rules[name] = yaml.safe_load((RULES_DIR / name).read_text(encoding="utf-8"))["groups"]
    return rules


def recording_rules():
    return {r["record"]: r["expr"] for g in rule_groups()["recording.yml"] for r in g["rules"]}


def families_of(expr, records, seen=None):
    """Metric families an expression reads, directly or through recording rules."""
    seen = seen or set()
    fams = set()
    for rec in RECORD_RE.findall(expr):
        if rec in records and rec not in seen:
            seen.add(rec)
            fams |= families_of(records[rec], records, seen)
    fams |= set(FAMILY_RE.findall(RECORD_RE.sub(" ", expr)))
    return fams


def contract_families():
    """Families of the metric contract, docs/metrics.md (one `### name` heading per family; it is
    generated from the code's family table, so this compares the dashboards with the code)."""
    text = CONTRACT.read_text(encoding="utf-8")
    families = set(re.findall(r"^### (entra_authmethods_[a-z0-9_]+)\s*$", text, re.M))
    if not families:
        fail("docs/metrics.md lists no families")
    return families


def readme_anchors():
    """Anchors of the runbook headings in docs/runbooks.md."""
    anchors = set()
    for line in RUNBOOKS.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


# --- dashboards -------------------------------------------------------------------------------------

def cmd_dashboards(_args):
    dashboards = load_dashboards()
    if len(dashboards) < 4:
        fail(f"expected the four dashboards in dashboards/, found {len(dashboards)}")
    uids = {}
    for path, d in dashboards:
        name = path.name
        uid = d.get("uid")
        if not uid or not re.fullmatch(r"[a-z0-9-]{1,40}", uid):
            fail(f"{name}: uid {uid!r} must be a stable lowercase id of at most 40 characters")
        elif uid in uids:
            fail(f"{name}: uid {uid} also used by {uids[uid]}")
        uids[uid] = name
        if not d.get("title") or d.get("id") is not None:
            fail(f"{name}: needs a title and \"id\": null")
        if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 39:
            fail(f"{name}: schemaVersion {d.get('schemaVersion')} is older than Grafana 11")
        variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
        dsv = variables.get("datasource")
        if not dsv or dsv.get("type") != "datasource" or dsv.get("query") != "prometheus":
            fail(f"{name}: needs a 'datasource' variable of type datasource for prometheus")
        tv = variables.get("tenant")
        if not tv or not tv.get("multi") or not tv.get("includeAll"):
            fail(f"{name}: needs a 'tenant' variable with multi-select and All")
        for vname, v in variables.items():
            if vname not in VARIABLES:
                fail(f"{name}: variable {vname!r} unknown to .ci/deploy_checks.py VARIABLES: add a test value there")
            if v.get("type") == "query" and v.get("datasource") != DS:
                fail(f"{name}: variable {vname} must query ${{datasource}}")
        ids = set()
        cells = {}
        for p in d.get("panels", []):
            g = p.get("gridPos", {})
            for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
                for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
                    if (x, y) in cells:
                        fail(f"{name}: panels {cells[(x, y)]!r} and {p.get('title')!r} overlap")
                        break
                    cells[(x, y)] = p.get("title")
                else:
                    continue
                break
        for p in panels(d):
            title = p.get("title")
            where = f"{name} panel {title!r}"
            if p.get("id") in ids:
                fail(f"{where}: duplicate panel id {p.get('id')}")
            ids.add(p.get("id"))
            g = p.get("gridPos", {})
            if not title or g.get("x", -1) < 0 or g.get("x", 0) + g.get("w", 0) > 24:
                fail(f"{where}: needs a title and a gridPos inside 24 columns")
            if p.get("type") == "row":
                continue
            if not (p.get("description") or "").strip():
                fail(f"{where}: has no description")
            if p.get("datasource") != DS:
                fail(f"{where}: datasource must be {DS}, is {p.get('datasource')}")
            defaults = p.get("fieldConfig", {}).get("defaults", {})
            if not defaults.get("unit"):
                fail(f"{where}: has no unit")
            if not defaults.get("thresholds", {}).get("steps"):
                fail(f"{where}: has no thresholds")
            if not p.get("targets"):
                fail(f"{where}: has no query")
            for t in p.get("targets", []):
                if t.get("datasource") != DS:
                    fail(f"{where} query {t.get('refId')}: datasource must be {DS}")
                if not (t.get("expr") or "").strip():
                    fail(f"{where} query {t.get('refId')}: empty expression")
                if "rate(" in t.get("expr", "") and "$__rate_interval" not in t["expr"]:
                    fail(f"{where} query {t.get('refId')}: rate() must use $__rate_interval")
        ok(f"{name}: uid {uid}, {sum(1 for p in panels(d) if p.get('type') != 'row')} panels checked")
    return done()


def cmd_exprs(args):
    out = pathlib.Path(args[0])
    dashboards = load_dashboards()
    rules = []
    for where, expr in list(targets(dashboards)) + [
        (w, LABEL_VALUES_RE.match(q).group(1)) for w, q in variable_queries(dashboards) if LABEL_VALUES_RE.match(q)
    ]:
        text, unknown = substitute(expr)
        if unknown:
            fail(f"{where}: unknown variables {sorted(unknown)}")
        rules.append({"record": f"dashboard_expression_{len(rules)}", "expr": text, "labels": {"where": where}})
    for where, q in variable_queries(dashboards):
        if not LABEL_VALUES_RE.match(q or ""):
            fail(f"{where}: query {q!r} is not label_values(<selector>, <label>)")
    out.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-expressions", "rules": rules}]}, sort_keys=False))
    ok(f"{len(rules)} dashboard expressions written to {out}")
    return done()


# --- manual consistency -----------------------------------------------------------------------------

def cmd_families(args):
    pending = parse_pending(args[args.index("--pending") + 1] if "--pending" in args else "")
    records = recording_rules()
    dashboards = load_dashboards()
    on_panels = set()
    for _, expr in targets(dashboards):
        on_panels |= families_of(expr, records)
    in_rules = set()
    for groups in rule_groups().values():
        for g in groups:
            for r in g["rules"]:
                in_rules |= families_of(r["expr"], records)
    documented = contract_families()
    for fam in sorted((on_panels | in_rules) - documented - pending):
        fail(f"{fam} is used by dashboards or rules but is not in the metric contract, docs/metrics.md")
    for fam in sorted(documented - on_panels):
        fail(f"{fam} is in the metric contract (docs/metrics.md) but no dashboard panel shows it")
    for fam in sorted(pending - on_panels):
        fail(f"{fam} is listed as pending in .ci/deploy-checks but no dashboard panel uses it: remove it there")
    ok(f"{len(documented)} documented families, {len(on_panels)} families on panels, {len(pending)} pending")
    return done()


# --- alerts -----------------------------------------------------------------------------------------

def cmd_alerts(_args):
    alerts = [r for g in rule_groups()["alerts.yml"] for r in g["rules"]]
    anchors = readme_anchors()
    tested = {}
    for test_file in sorted(RULES_DIR.glob("*_test.yml")):
        spec = yaml.safe_load(test_file.read_text(encoding="utf-8"))
        for group in spec.get("tests", []):
            for case in group.get("alert_rule_test", []):
                kinds = tested.setdefault(case["alertname"], set())
                kinds.add("firing" if case.get("exp_alerts") else "silent")
    for a in alerts:
        name = a["alert"]
        labels, ann = a.get("labels", {}), a.get("annotations", {})
        if not name.startswith("EntraAuthMethods"):
            fail(f"{name}: alert names start with EntraAuthMethods")
        if labels.get("severity") not in ("critical", "warning", "info"):
            fail(f"{name}: severity label must be critical, warning or info")
        if "for" not in a:
            fail(f"{name}: needs a 'for' duration")
        for key in ("summary", "description"):
            if not (ann.get(key) or "").strip():
                fail(f"{name}: annotation {key} missing")
        # The runbook as text (how the rules ship) or as a link to a published copy
        # (deploy/prometheus/rules/runbooks.py --base-url); either way from its section in docs/runbooks.md.
        url = ann.get("runbook_url", "")
        if name.lower() not in anchors:
            fail(f"{name}: docs/runbooks.md has no section '## {name}'")
        if not (ann.get("runbook") or "").strip() and not url.endswith("#" + name.lower()):
            fail(f"{name}: needs the annotation runbook, or runbook_url ending in #{name.lower()}")
        if tested.get(name) != {"firing", "silent"}:
            fail(f"{name}: needs a firing and a non-firing case in deploy/prometheus/rules/*_test.yml "
                 f"(has {sorted(tested.get(name, set()))})")
    records = recording_rules()
    recording_tests = (RULES_DIR / "recording_test.yml").read_text(encoding="utf-8")
    for rec in records:
        if f"expr: {rec}" not in recording_tests:
            fail(f"recording rule {rec} has no promql_expr_test in recording_test.yml")
    ok(f"{len(alerts)} alerts and {len(records)} recording rules checked")
    return done()


# --- deploy files against the binary ----------------------------------------------------------------

def deploy_flag_uses():
    """(where, flag) for every command-line flag the deploy files pass to the exporter."""
    uses = []
    unit = (ROOT / "deploy/systemd/entra-authmethods-exporter.service").read_text(encoding="utf-8")
    unit = unit.replace("\\\n", " ")
    for line in unit.splitlines():
        if line.startswith(("ExecStart=", "ExecStartPre=")):
            uses += [("systemd unit", f) for f in re.findall(r"\s(--[\w.-]+)", line)]
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text(encoding="utf-8"))
    uses += [("docker-compose exporter", f) for f in compose["services"]["exporter"]["command"] if f.startswith("--")]
    for path in sorted((ROOT / "deploy/kubernetes").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            spec = (doc or {}).get("spec", {}) or {}
            for c in spec.get("template", {}).get("spec", {}).get("containers", []) or []:
                for arg in c.get("args", []):
                    if arg.startswith("--"):
                        uses.append((str(path.relative_to(ROOT)), arg.split("=", 1)[0]))
    docker = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for m in re.finditer(r'^(CMD|ENTRYPOINT)\s+(\[.*\])', docker, re.M):
        uses += [("Dockerfile " + m.group(1), a.split("=", 1)[0]) for a in json.loads(m.group(2)) if a.startswith("--")]
    return uses


def cmd_flags(args):
    help_text = pathlib.Path(args[0]).read_text(encoding="utf-8")
    known = set(re.findall(r"(--[\w.-]+)", help_text))
    uses = deploy_flag_uses()
    for where, flag in uses:
        if flag not in known:
            fail(f"{where}: flag {flag} is not in the exporter's --help")
    ok(f"{len(uses)} flags in the systemd unit, compose file, Kubernetes manifests and Dockerfile exist")
    return done()


def cmd_configs(args):
    binary = args[0]
    configs = sorted((ROOT / "deploy").rglob("*.toml"))
    with tempfile.TemporaryDirectory() as tmp:
        secret = pathlib.Path(tmp, "client-secret")
        secret.write_text("not-a-real-secret\n")
        for path in configs:
            # The secret files live on the target machine; point them at a stand-in.
            text = re.sub(r'(?m)^(client_secret_file\s*=\s*)".*"', lambda m: f'{m.group(1)}"{secret}"',
                          path.read_text(encoding="utf-8"))
            # So does the state file's directory (a volume of the pod).
            text = re.sub(r'(?m)^(state_file\s*=\s*)".*"', lambda m: f'{m.group(1)}"{tmp}/state.json"', text)
            probe = pathlib.Path(tmp, path.name)
            probe.write_text(text)
            env = dict(os.environ)
            if "workload-identity" in path.parts:
                # What the Azure Workload Identity webhook injects into the pod.
                token = pathlib.Path(tmp, "federated-token")
                token.write_text("header.payload.signature\n")
                env.update(AZURE_FEDERATED_TOKEN_FILE=str(token), AZURE_CLIENT_ID="00000000-0000-0000-0000-000000000001",
                           AZURE_TENANT_ID="00000000-0000-0000-0000-000000000002",
                           AZURE_AUTHORITY_HOST="https://login.microsoftonline.com/")
            r = subprocess.run([binary, "--check-config", "--config", str(probe)], capture_output=True, text=True,
                               env=env)
            where = path.relative_to(ROOT)
            if r.returncode != 0:
                fail(f"{where}: --check-config: {(r.stderr or r.stdout).strip()}")
            else:
                ok(f"{where}: {r.stdout.strip()}")
    return done()


def cmd_compose(_args):
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text(encoding="utf-8"))
    services = compose.get("services", {})
    for name in ("exporter", "prometheus", "grafana"):
        if name not in services:
            fail(f"docker-compose.yml: service {name} missing")
    if failures:
        return done()
    command = services["exporter"].get("command", [])
    if "--demo" not in command or command[command.index("--web.listen-address") + 1] != ":10027":
        fail("docker-compose.yml: exporter must run --demo --web.listen-address :10027")

    def mounts(service):
        out = {}
        for v in services[service].get("volumes", []):
            parts = v.split(":")
            if parts[0].startswith("."):
                source = (ROOT / "deploy" / parts[0]).resolve()
                if not source.exists():
                    fail(f"docker-compose.yml: {service} mounts {parts[0]}, which does not exist")
                out[parts[1]] = source
        return out

    prom = mounts("prometheus")
    config = prom.get("/etc/prometheus/prometheus.yml")
    if config is None:
        fail("docker-compose.yml: prometheus must mount deploy/prometheus/prometheus.yml")
    else:
        pconf = yaml.safe_load(config.read_text(encoding="utf-8"))
        targets = [t for job in pconf["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]]
        if "exporter:10027" not in targets:
            fail("prometheus.yml must scrape exporter:10027, the compose service")
        for rule_file in pconf.get("rule_files", []):
            if not (pathlib.PurePosixPath("/etc/prometheus") / rule_file).parent.as_posix() in prom:
                fail(f"prometheus.yml loads {rule_file}, which the compose file does not mount")
    graf = mounts("grafana")
    prov = graf.get("/etc/grafana/provisioning")
    if prov is None:
        fail("docker-compose.yml: grafana must mount deploy/grafana/provisioning")
    else:
        for f in sorted((prov / "dashboards").glob("*.yaml")):
            for provider in yaml.safe_load(f.read_text(encoding="utf-8"))["providers"]:
                path = provider["options"]["path"]
                if graf.get(path) != ROOT / "dashboards":
                    fail(f"{f.relative_to(ROOT)}: provider path {path} is not where compose mounts dashboards/")
        for f in sorted((prov / "datasources").glob("*.yaml")):
            for ds in yaml.safe_load(f.read_text(encoding="utf-8"))["datasources"]:
                if ds.get("type") != "prometheus" or ds.get("url") != "http://prometheus:9090":
                    fail(f"{f.relative_to(ROOT)}: datasource must be prometheus at http://prometheus:9090")
    ok("docker-compose.yml, Grafana provisioning and prometheus.yml agree")
    return done()


# --- end to end -------------------------------------------------------------------------------------

def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except ValueError:
            return None, f"HTTP {e.code}"
    except (OSError, ValueError) as e:
        return None, str(e)
    if body.get("status") != "success":
        return None, f"{body.get('errorType')}: {body.get('error')}"
    return body["data"]["result"], None


def cmd_e2e(args):
    base = args[0].rstrip("/")
    pending = parse_pending(args[args.index("--pending") + 1] if "--pending" in args else "")
    scrape = pathlib.Path(args[args.index("--scrape") + 1]).read_text(encoding="utf-8")
    records = recording_rules()
    dashboards = load_dashboards()

    exported = set(re.findall(r"^# TYPE (entra_authmethods_[a-z0-9_]+) ", scrape, re.M))
    for fam in sorted(pending & exported):
        fail(f"{fam} is exported now: remove it from PENDING_FAMILIES in .ci/deploy-checks, its panels must show data")
    documented = contract_families()
    for fam in sorted(exported - documented):
        fail(f"{fam} is exported by the demo but not in the metric contract, docs/metrics.md")

    counts = {"data": 0, "absent": 0}

    def evaluate(where, expr):
        text, unknown = substitute(expr)
        if unknown:
            fail(f"{where}: unknown variables {sorted(unknown)}")
            return
        result, error = query(base, text)
        waiting = sorted(families_of(text, records) & pending)
        if error:
            fail(f"{where}: query error: {error}\n     {text}")
        elif not result and waiting:
            counts["absent"] += 1
            ok(f"{where}: empty, as expected while {', '.join(waiting)} is not exported")
        elif not result:
            fams = ", ".join(sorted(families_of(text, records))) or "no exporter family"
            fail(f"{where}: no data ({fams}; if the demo cannot export it yet, list it in PENDING_FAMILIES"
                 f" in .ci/deploy-checks)\n     {text}")
        else:
            counts["data"] += 1
            ok(f"{where}: {len(result)} series")

    for where, expr in targets(dashboards):
        evaluate(where, expr)
    for where, q in variable_queries(dashboards):
        m = LABEL_VALUES_RE.match(q or "")
        if m:
            evaluate(where, f"count by ({m.group(2)}) ({m.group(1)})")
    for rec in records:
        evaluate(f"recording rule {rec}", rec)

    rules, error = None, None
    try:
        with urllib.request.urlopen(base + "/api/v1/rules", timeout=10) as resp:
            rules = json.load(resp)["data"]["groups"]
    except (OSError, ValueError, KeyError) as e:
        error = str(e)
    if error:
        fail(f"/api/v1/rules: {error}")
    else:
        count = 0
        for g in rules:
            for r in g["rules"]:
                count += 1
                if r.get("health") != "ok":
                    fail(f"rule {r.get('name')} in group {g['name']}: health {r.get('health')}: {r.get('lastError')}")
        expected = sum(len(g["rules"]) for groups in rule_groups().values() for g in groups)
        if count != expected:
            fail(f"Prometheus loaded {count} rules, the rule files have {expected}")
        else:
            ok(f"all {count} rules loaded and evaluated without error")
    print(f"summary: {counts['data']} expressions returned data, {counts['absent']} empty because their "
          f"families are not in the demo, {failures} failed")
    return done()


def cmd_wait(args):
    import time

    base = args[0].rstrip("/")
    pending = parse_pending(args[args.index("--pending") + 1] if "--pending" in args else "")
    deadline = time.monotonic() + float(args[args.index("--timeout") + 1])
    records = recording_rules()
    expected = [r for r, e in records.items() if not families_of(e, records) & pending]
    # Enough samples for every range function of the dashboards (rate, increase, delta).
    # Data series appear only after the first poll, later than `up`: wait for several samples of the
    # registration data too, or delta() panels would see a single sample.
    checks = [
        'count_over_time(up{job="entra-authmethods-exporter"}[10m]) >= 5 and up == 1',
        "count_over_time(entra_authmethods_users_registered_by_feature[10m]) >= 3",
        "count_over_time(entra_authmethods_users_registered_by_method[10m]) >= 3",
    ] + expected
    missing = checks
    while time.monotonic() < deadline:
        missing = [c for c in checks if not (query(base, c)[0] or [])]
        if not missing:
            ok(f"exporter scraped and {len(expected)} recording rules have data")
            return done()
        time.sleep(1)
    fail("timed out waiting for data: " + ", ".join(missing))
    return done()


COMMANDS = {
    "compose": cmd_compose,
    "wait": cmd_wait,
    "dashboards": cmd_dashboards,
    "exprs": cmd_exprs,
    "families": cmd_families,
    "alerts": cmd_alerts,
    "flags": cmd_flags,
    "configs": cmd_configs,
    "e2e": cmd_e2e,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
