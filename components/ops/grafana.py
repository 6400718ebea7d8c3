"""Pure helpers that build Grafana dashboard JSON: panels, rows, template variables and layout.

The JSON targets the Grafana the kube-prometheus-stack 88.5.3 chart installs (grafana subchart
12.11.1, Grafana 13.2.0), whose dashboard schema migrations go up to version 42; Grafana migrates
anything older on load, never anything newer. Every panel and query reads Prometheus through the
``datasource`` template variable, so one dashboard works with whichever Prometheus data source a
Grafana has. Panels are built without position; ``layout`` places them on Grafana's 24-column
grid, row by row, and numbers them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

SCHEMA_VERSION = 42
GRID_COLUMNS = 24
TAGS = ("genai-platform",)
DATASOURCE_VARIABLE = "datasource"
DATASOURCE = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}
# Variables Grafana itself defines; a panel may use them without declaring them.
BUILTIN_VARIABLES = frozenset({"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                               "__range_ms", "__from", "__to", "__dashboard", "__org", "__user",
                               "__name", "__all", "__series", "__field", "__value", "__data", "__cell",
                               "__timeFilter", "__auto_interval", "__auto"})
RATE = "[$__rate_interval]"

_VARIABLE_REF = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*?)(?:,\s*([A-Za-z_][A-Za-z0-9_]*))?\s*\)\s*$", re.S)


# Queries ------------------------------------------------------------------------------------

def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> dict:
    """One Prometheus query of a panel (``refId`` is set when the panel is built)."""
    out: dict[str, Any] = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto"}
    if instant or table:
        out.update({"instant": True, "range": False})
    else:
        out["range"] = True
    if table:
        out["format"] = "table"
    return out


def _with_ref_ids(targets: Sequence[dict]) -> list[dict]:
    if not targets:
        raise ValueError("a panel needs at least one query")
    if len(targets) > 26:
        raise ValueError("at most 26 queries per panel")
    return [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)]


# Panels -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Thresholds:
    """Colour steps: green below the first value, then each (value, colour) in order."""

    steps: tuple[tuple[float, str], ...] = ()

    def to_json(self) -> dict:
        return {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                              *({"color": c, "value": v} for v, c in self.steps)]}


def _defaults(unit: str, minimum: Optional[float], maximum: Optional[float], thresholds: Thresholds,
              decimals: Optional[int]) -> dict:
    out: dict[str, Any] = {"unit": unit, "color": {"mode": "palette-classic"}, "thresholds": thresholds.to_json(),
                           "mappings": []}
    if minimum is not None:
        out["min"] = minimum
    if maximum is not None:
        out["max"] = maximum
    if decimals is not None:
        out["decimals"] = decimals
    return out


def _panel(kind: str, title: str, targets: Sequence[dict], description: str, width: int, height: int,
           field_config: dict, options: dict, **extra: Any) -> dict:
    if not 1 <= width <= GRID_COLUMNS:
        raise ValueError(f"{title}: width {width} is not within 1..{GRID_COLUMNS}")
    return {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "gridPos": {"h": height, "w": width, "x": 0, "y": 0},
            "targets": _with_ref_ids(targets), "fieldConfig": {"defaults": field_config, "overrides": []},
            "options": options, **extra}


def timeseries(title: str, targets: Sequence[dict], unit: str, *, description: str = "", width: int = 12,
               height: int = 8, minimum: Optional[float] = 0, maximum: Optional[float] = None, stacked: bool = False,
               thresholds: Thresholds = Thresholds(), decimals: Optional[int] = None) -> dict:
    defaults = _defaults(unit, minimum, maximum, thresholds, decimals)
    defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 20 if stacked else 10,
                          "showPoints": "never", "spanNulls": False,
                          "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
                          "thresholdsStyle": {"mode": "line" if thresholds.steps else "off"}}
    options = {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                          "calcs": ["lastNotNull", "max"]},
               "tooltip": {"mode": "multi", "sort": "desc"}}
    return _panel("timeseries", title, targets, description, width, height, defaults, options)


def _reduce() -> dict:
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def stat(title: str, targets: Sequence[dict], unit: str, *, description: str = "", width: int = 6, height: int = 4,
         thresholds: Thresholds = Thresholds(), decimals: Optional[int] = None) -> dict:
    defaults = _defaults(unit, None, None, thresholds, decimals)
    options = {"reduceOptions": _reduce(), "colorMode": "value", "graphMode": "area", "textMode": "auto",
               "orientation": "auto", "justifyMode": "auto", "wideLayout": True, "showPercentChange": False}
    return _panel("stat", title, targets, description, width, height, defaults, options)


def gauge(title: str, targets: Sequence[dict], unit: str, *, description: str = "", width: int = 6, height: int = 6,
          minimum: float = 0, maximum: float = 100, thresholds: Thresholds = Thresholds()) -> dict:
    defaults = _defaults(unit, minimum, maximum, thresholds, None)
    options = {"reduceOptions": _reduce(), "orientation": "auto", "showThresholdLabels": False,
               "showThresholdMarkers": True, "minVizHeight": 75, "minVizWidth": 75, "sizing": "auto"}
    return _panel("gauge", title, targets, description, width, height, defaults, options)


def table(title: str, targets: Sequence[dict], unit: str = "short", *, description: str = "", width: int = 24,
          height: int = 8, hide_columns: Iterable[str] = ("Time",)) -> dict:
    """An instant-query table; ``hide_columns`` drops columns such as the timestamp."""
    defaults = _defaults(unit, None, None, Thresholds(), None)
    defaults["custom"] = {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False}
    options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}}
    organize = {"id": "organize", "options": {"excludeByName": {c: True for c in hide_columns},
                                              "indexByName": {}, "renameByName": {}}}
    return _panel("table", title, [{**t, "format": "table", "instant": True, "range": False} for t in targets],
                  description, width, height, defaults, options, transformations=[organize])


# Rows and layout ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """A titled band of panels; ``layout`` places its panels below its header."""

    title: str
    panels: tuple[dict, ...] = field(default_factory=tuple)
    collapsed: bool = False


def layout(rows: Sequence[Row]) -> list[dict]:
    """Flat Grafana panel list: each row header full-width, its panels left to right, wrapping
    to a new line when the next one would pass column 24; ids numbered from 1."""
    out: list[dict] = []
    y = 0
    next_id = 1
    for row in rows:
        placed: list[dict] = []
        header = {"type": "row", "title": row.title, "id": next_id, "collapsed": row.collapsed,
                  "gridPos": {"h": 1, "w": GRID_COLUMNS, "x": 0, "y": y}, "panels": []}
        next_id += 1
        y += 1
        x = 0
        line_height = 0
        for panel in row.panels:
            w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
            if x + w > GRID_COLUMNS:
                y += line_height
                x, line_height = 0, 0
            placed.append({**panel, "id": next_id, "gridPos": {"h": h, "w": w, "x": x, "y": y}})
            next_id += 1
            x += w
            line_height = max(line_height, h)
        y += line_height
        if row.collapsed:
            # A collapsed row keeps its panels inside it; Grafana lays them out when opened.
            header["panels"] = placed
            out.append(header)
        else:
            out.extend([header, *placed])
    return out


# Template variables -------------------------------------------------------------------------

def datasource_variable() -> dict:
    return {"type": "datasource", "name": DATASOURCE_VARIABLE, "label": "Data source", "query": "prometheus",
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
            "regex": "", "skipUrlSync": False}


def query_variable(name: str, label: str, query: str, *, multi: bool = True, include_all: bool = True,
                   hide: bool = False) -> dict:
    """A variable filled from Prometheus (``label_values(selector, label)``), refreshed when the
    time range changes, "All" matching every value (``.*``) rather than listing them."""
    if not _LABEL_VALUES.match(query):
        raise ValueError(f"variable {name}: expected label_values(...), got {query!r}")
    out: dict[str, Any] = {
        "type": "query", "name": name, "label": label, "datasource": DATASOURCE,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1},
        "definition": query, "refresh": 2, "sort": 1, "regex": "", "multi": multi, "includeAll": include_all,
        "current": {}, "options": [], "hide": 2 if hide else 0, "skipUrlSync": False,
    }
    if include_all:
        out["allValue"] = ".*"
    return out


def variable_selector(query: str) -> str:
    """The series selector of a ``label_values(selector, label)`` query ("" for ``label_values(label)``)."""
    m = _LABEL_VALUES.match(query)
    if not m:
        raise ValueError(f"not a label_values query: {query!r}")
    return m.group(1) if m.group(2) else ""


# Dashboard ----------------------------------------------------------------------------------

def dashboard(uid: str, title: str, description: str, rows: Sequence[Row], variables: Sequence[dict], *,
              refresh: str = "30s", time_from: str = "now-6h", links: Sequence[dict] = ()) -> dict:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid):
        raise ValueError(f"dashboard uid {uid!r}: 1-40 letters, digits, '-' or '_'")
    return {
        "uid": uid, "title": title, "description": description, "tags": list(TAGS),
        "schemaVersion": SCHEMA_VERSION, "version": 1, "editable": True, "graphTooltip": 1,
        "timezone": "browser", "time": {"from": time_from, "to": "now"}, "refresh": refresh,
        "timepicker": {}, "fiscalYearStartMonth": 0, "liveNow": False, "weekStart": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": [datasource_variable(), *variables]},
        "links": list(links),
        "panels": layout(rows),
    }


# Reading a dashboard back (tests and reviews) -----------------------------------------------

def all_panels(dash: dict) -> list[dict]:
    """Every panel, including those inside collapsed rows, rows themselves excluded."""
    out: list[dict] = []
    for p in dash["panels"]:
        if p["type"] == "row":
            out.extend(p.get("panels", []))
        else:
            out.append(p)
    return out


def expressions(dash: dict) -> list[str]:
    return [t["expr"] for p in all_panels(dash) for t in p["targets"]]


def referenced_variables(text: str) -> set[str]:
    """Template variables ``text`` uses (``$x``, ``${x}``, ``${x:fmt}``, ``[[x]]``), built-ins excluded."""
    names = {next(g for g in m.groups() if g) for m in _VARIABLE_REF.finditer(text)}
    # ``$1`` is a regex group in label_replace's replacement, not a variable.
    return {n for n in names if not n.isdigit()} - BUILTIN_VARIABLES
