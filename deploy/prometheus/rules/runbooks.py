#!/usr/bin/env python3
"""Puts each alert's runbook into the alert rules, from docs/runbooks.md (one `## AlertName` section each).

Without --base-url (how the rules ship) every alert carries its runbook as text, in the annotation
`runbook`, so whoever is paged reads it in the notification, wherever the rules were copied to. With
--base-url the annotation is `runbook_url: BASE#anchor` instead, pointing at your published copy of
docs/runbooks.md (your fork, wiki or intranet):

    python3 deploy/prometheus/rules/runbooks.py                  # runbook text (the shipped rules)
    python3 deploy/prometheus/rules/runbooks.py --base-url https://git.example.com/ops/entra-authmethods-exporter/blob/main/docs/runbooks.md
    python3 deploy/prometheus/rules/runbooks.py --check          # exit 1 if the files are not what this writes

It rewrites alerts.yml and the expected annotations of the promtool tests (*_test.yml) (promtool compares annotations
exactly), then the Kubernetes PrometheusRule through .ci/gen-prometheusrule when that script is there.
Standard library only; everything else in the files, comments included, is left as it is.
"""

import argparse
import pathlib
import re
import subprocess
import sys

RULES = pathlib.Path(__file__).resolve().parent
ROOT = RULES.parent.parent.parent
RUNBOOKS = ROOT / "docs" / "runbooks.md"
WIDTH = 100


def sections():
    """Alert name -> its runbook as one paragraph of plain text (markdown links become 'text (target)')."""
    out, name, lines = {}, None, []
    for line in RUNBOOKS.read_text(encoding="utf-8").splitlines() + ["## "]:
        if line.startswith("## "):
            if name:
                text = " ".join(" ".join(lines).split())
                text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", lambda m: f"{m.group(1)} (docs/{m.group(2)})", text)
                if "{{" in text:
                    sys.exit(f"runbooks.py: the runbook of {name} contains '{{{{', which Prometheus reads as a template")
                out[name] = text
            name, lines = line[3:].strip(), []
        elif name:
            lines.append(line)
    return out


def anchor(name):
    return name.lower()


def folded(key, text, indent):
    """`key: >-` and `text` folded into lines of at most WIDTH columns (YAML joins them with spaces)."""
    pad = " " * (indent + 2)
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(pad) + len(line) + 1 + len(word) > WIDTH:
            lines.append(pad + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(pad + line)
    return [" " * indent + f"{key}: >-"] + lines


def rewrite(path, runbooks, base_url, name_re):
    """The file with every runbook annotation (and its continuation lines) replaced."""
    out, current, skip_indent = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if skip_indent is not None:
            if line.strip() and indent > skip_indent:
                continue  # a continuation line of the annotation being replaced
            skip_indent = None
        m = name_re.match(line)
        if m:
            current = m.group(1)
        if re.match(r"\s*(runbook|runbook_url):", line):
            if current not in runbooks:
                sys.exit(f"runbooks.py: {path.name}: no '## {current}' section in docs/runbooks.md")
            if base_url:
                out.append(" " * indent + f"runbook_url: {base_url}#{anchor(current)}")
            else:
                out.extend(folded("runbook", runbooks[current], indent))
            skip_indent = indent
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="published docs/runbooks.md; alerts then link to BASE#alertname")
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ from what would be written")
    args = parser.parse_args()
    base = args.base_url.rstrip("#") if args.base_url else None
    runbooks = sections()
    targets = [
        (RULES / "alerts.yml", re.compile(r"\s*- alert: (\S+)")),
    ] + [(test, re.compile(r"\s*alertname: (\S+)")) for test in sorted(RULES.glob("*_test.yml"))]
    stale = []
    for path, name_re in targets:
        text = rewrite(path, runbooks, base, name_re)
        if args.check:
            if path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("not what deploy/prometheus/rules/runbooks.py writes: " + ", ".join(stale), file=sys.stderr)
        print("edit docs/runbooks.md or the rules, then run: python3 deploy/prometheus/rules/runbooks.py", file=sys.stderr)
        return 1
    gen = ROOT / ".ci" / "gen-prometheusrule"
    if not args.check and gen.exists():
        subprocess.run(["bash", str(gen)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
