"""Building blocks of the dashboards: panel constructors, variables, layout and the shared matchers and
thresholds, so every dashboard follows one set of conventions. Used by generate.py and the dashboard
modules beside it; standard library only.
"""

import re

SCHEMA_VERSION = 41  # Grafana 12.0
TAG = "entra-authmethods-exporter"
DS = {"type": "prometheus", "uid": "${datasource}"}

# Matchers shared by the queries.
T = 'tenant=~"$tenant"'
B = 'user_type="$user_type", user_role="$user_role"'
PHISHING_RESISTANT = (
    "fido2SecurityKey|fido2|passKeyDeviceBound|passKeyDeviceBoundAuthenticator|passKeyDeviceBoundWindowsHello"
    "|passKeySynced|windowsHelloForBusiness|macOsSecureEnclaveKey|x509Certificate|certificateBasedAuthentication"
)

# Reports other than userRegistrationDetails may be absent: say so in the panels they feed.
DELEGATED = (
    " Needs a delegated sign-in (the exporter's `login`) and an Entra ID P1/P2 licence; the panel stays"
    " empty while the report is not polled or is unavailable (Exporter health, Report availability)."
)
APP_OR_DELEGATED = (
    " Needs AuditLog.Read.All and an Entra ID P1/P2 licence; the panel stays empty while the report is not"
    " polled or is unavailable (Exporter health, Report availability)."
)
LEGACY = (
    " Legacy beta report (Reports.Read.All, global cloud only) that Microsoft has deprecated or retired:"
    " the panel stays empty where the report is unavailable (Exporter health, Report availability)."
)


def steps(*pairs):
    """Threshold steps: ("green", None) is the base colour, then (colour, from_value)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in pairs]}


BLUE = steps(("blue", None))
SHARE_HIGH_GOOD = steps(("red", None), ("orange", 0.9), ("green", 0.98))
SHARE_SSPR = steps(("red", None), ("orange", 0.7), ("green", 0.9))
SHARE_ADOPTION = steps(("orange", None), ("yellow", 0.25), ("green", 0.5))
COUNT_ZERO_GOOD = steps(("green", None), ("red", 1))
FAILURE_RATIO = steps(("green", None), ("orange", 0.1), ("red", 0.25))
AGE_INTERVALS = steps(("green", None), ("orange", 2), ("red", 3))


def target(expr, legend="", instant=False, fmt=None):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }
    if fmt:
        t["format"] = fmt
    return t


def field_defaults(unit, thresholds, decimals=None, minimum=None, maximum=None, mappings=None, custom=None):
    d = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": thresholds,
        "mappings": mappings or [],
    }
    if decimals is not None:
        d["decimals"] = decimals
    if minimum is not None:
        d["min"] = minimum
    if maximum is not None:
        d["max"] = maximum
    if custom is not None:
        d["custom"] = custom
    return d


def stat(title, description, targets, unit, thresholds, w=4, h=5, decimals=None, mappings=None, color_mode="value"):
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": field_defaults(unit, thresholds, decimals, mappings=mappings), "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "auto",
            "textMode": "value_and_name",
            "colorMode": color_mode,
            "graphMode": "none",
            "justifyMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
        "_size": (w, h),
    }


def timeseries(title, description, targets, unit, thresholds=BLUE, w=12, h=8, decimals=None, minimum=None,
               maximum=None, stack=False, threshold_lines=False):
    custom = {
        "drawStyle": "line",
        "lineInterpolation": "stepAfter",
        "lineWidth": 1,
        "fillOpacity": 20 if stack else 0,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "axisSoftMin": 0,
        "thresholdsStyle": {"mode": "line+area" if threshold_lines else "off"},
    }
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {
            "defaults": field_defaults(unit, thresholds, decimals, minimum, maximum, custom=custom),
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "table", "placement": "right", "showLegend": True, "calcs": ["lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "_size": (w, h),
    }


def bargauge(title, description, targets, unit, thresholds=BLUE, w=12, h=8, decimals=None, minimum=0, maximum=None):
    return {
        "type": "bargauge",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": field_defaults(unit, thresholds, decimals, minimum, maximum), "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
            "displayMode": "gradient",
            "valueMode": "color",
            "namePlacement": "left",
            "showUnfilled": True,
            "sizing": "auto",
            "minVizHeight": 16,
            "minVizWidth": 8,
            "maxVizHeight": 300,
        },
        "_size": (w, h),
    }


def table(title, description, targets, unit, hide, w=12, h=6):
    return {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": field_defaults(unit, BLUE, custom={"align": "auto"}), "overrides": []},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {name: True for name in hide}}},
        ],
        "_size": (w, h),
    }


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


# A recording rule's name (level:metric:operation); panels reading one need the rules loaded.
RECORDED = re.compile(r"\b[a-z_]+:entra_authmethods_[a-z_]+:[a-z_]+\b")
NEEDS_RULES = (
    " Needs the recording rules (deploy/prometheus/rules/recording.yml) loaded in Prometheus; without them"
    " the panel shows a hint instead of data."
)
NO_DATA_WITHOUT_RULES = "No data: are the recording rules (deploy/prometheus/rules/recording.yml) loaded?"


def hint_recording_rules(item):
    """A panel whose queries read a recorded series says so in its description and, when it has no data,
    shows a hint instead of a bare "No data" (a missing rule file looks exactly like an empty tenant)."""
    if not any(RECORDED.search(t["expr"]) for t in item.get("targets", [])):
        return item
    item["description"] += NEEDS_RULES
    item["fieldConfig"]["defaults"]["noValue"] = NO_DATA_WITHOUT_RULES
    return item


def layout(items):
    """Places panels left to right, wrapping at 24 columns; a row starts a new line."""
    panels, x, y, line_h = [], 0, 0, 0
    for pid, item in enumerate(items, start=1):
        item = hint_recording_rules(dict(item))
        if item["type"] == "row":
            y += line_h
            x, line_h = 0, 0
            item["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
            y += 1
        else:
            w, h = item.pop("_size")
            if x + w > 24:
                y += line_h
                x, line_h = 0, 0
            item["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
            x += w
            line_h = max(line_h, h)
            for ref, t in zip("ABCDEFGH", item["targets"]):
                t["refId"] = ref
        item["id"] = pid
        panels.append(item)
    return panels


def datasource_var():
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
    }


def query_var(name, label, query, multi=False, include_all=False, default=None):
    if default == "$__all":
        current = {"selected": True, "text": ["All"], "value": ["$__all"]}
    elif default:
        current = {"selected": True, "text": default, "value": default}
    else:
        current = {}
    v = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "current": current,
        "hide": 0,
        "includeAll": include_all,
        "multi": multi,
        "options": [],
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
    }
    if include_all:
        v["allValue"] = ".*"
    return v


def custom_var(name, label, values, default):
    return {
        "name": name,
        "label": label,
        "type": "custom",
        "query": ",".join(values),
        "current": {"text": default, "value": default},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [{"text": v, "value": v, "selected": v == default} for v in values],
        "skipUrlSync": False,
    }


TENANT_VAR = query_var("tenant", "Tenant", "label_values(entra_authmethods_tenant_info, tenant)", multi=True,
                       include_all=True, default="$__all")
USER_TYPE_VAR = query_var("user_type", "User type", 'label_values(entra_authmethods_users{tenant=~"$tenant"}, user_type)',
                          default="all")
USER_ROLE_VAR = query_var("user_role", "User role", 'label_values(entra_authmethods_users{tenant=~"$tenant"}, user_role)',
                          default="all")


def dashboard(uid, title, description, variables, items, time_from):
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": False,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": [TAG],
                "targetBlank": False,
                "title": "Entra authentication methods",
                "type": "dashboards",
            }
        ],
        "panels": layout(items),
        "refresh": "5m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": [TAG, "entra", "mfa"],
        "templating": {"list": [datasource_var()] + variables},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }
