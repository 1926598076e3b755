#!/usr/bin/env python3
"""Static checks of the Grafana dashboards in grafana/*.json: structure,
variables, data sources, units, layout and what grafana.com import needs. (Whether each query returns data
is test_prometheus_integration.py's job.) Python 3 stdlib only."""

import glob
import json
import os
import sys

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS_UID = "${datasource}"
# Grafana unit ids this project uses; a typo would silently show raw numbers.
KNOWN_UNITS = {"volt", "amp", "watt", "watth", "percentunit", "amph", "celsius", "s", "dBm", "opm", "none"}
# The stat panels the project asked for, by unit.
REQUIRED_STAT_UNITS = {"percentunit", "volt", "amp", "watt", "amph", "s"}
PROVISIONING = ["grafana/provisioning/dashboards/bms.yml", "grafana/provisioning/datasources/prometheus.yml"]


def all_panels(panels):
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def mapped_texts(panel, ref_id, value):
    """The texts a value is mapped to for one query, overrides by refId included."""
    mappings = list(panel.get("fieldConfig", {}).get("defaults", {}).get("mappings", []))
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        if override.get("matcher") == {"id": "byFrameRefID", "options": ref_id}:
            for prop in override.get("properties", []):
                if prop.get("id") == "mappings":
                    mappings = prop.get("value", [])
    return {m.get("options", {}).get(value, {}).get("text") for m in mappings if m.get("type") == "value"}


def check_dashboard(path):
    problems = []
    with open(path) as f:
        d = json.load(f)

    if not 36 <= d.get("schemaVersion", 0) <= 41:
        problems.append(f"schemaVersion {d.get('schemaVersion')} is not ~39")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no data source variable of type prometheus named 'datasource'")
    # instance first, so one battery name on two exporters stays two batteries
    for name, expected in (("instance", "label_values(bms_up, instance)"),
                           ("battery", 'label_values(bms_up{instance=~"$instance"}, battery)')):
        var = variables.get(name, {})
        query = var.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if query != expected or var.get("definition") != query:
            problems.append(f"{name} variable query is {query!r}, expected {expected!r}")
        if not (var.get("multi") and var.get("includeAll")):
            problems.append(f"{name} variable must allow multiple values and All")
        if var.get("datasource", {}).get("uid") != DS_UID:
            problems.append(f"{name} variable does not use the data source variable")

    # grafana.com import: a data source input and every plugin used
    inputs = d.get("__inputs", [])
    if not any(i.get("type") == "datasource" and i.get("pluginId") == "prometheus" for i in inputs):
        problems.append("__inputs has no prometheus data source")
    required = {(r.get("type"), r.get("id")) for r in d.get("__requires", [])}
    used = {("panel", p["type"]) for p in all_panels(d.get("panels", [])) if p.get("type") != "row"}
    for need in used | {("grafana", "grafana"), ("datasource", "prometheus")}:
        if need not in required:
            problems.append(f"__requires does not list {need[0]} {need[1]}")

    panels = [p for p in all_panels(d.get("panels", [])) if p.get("type") != "row"]
    ids = [p.get("id") for p in all_panels(d.get("panels", []))]
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    cells = {}
    stat_units = set()
    for p in panels:
        title = p.get("title", "?")
        if p.get("datasource", {}).get("uid") != DS_UID:
            problems.append(f"{title}: panel data source is not {DS_UID}")
        targets = p.get("targets", [])
        if not targets:
            problems.append(f"{title}: no queries")
        for t in targets:
            if t.get("datasource", {}).get("uid") != DS_UID:
                problems.append(f"{title} {t.get('refId')}: query data source is not {DS_UID}")
            expr = t.get("expr", "")
            per_battery = 'instance=~"$instance", battery=~"$battery"' in expr
            # Adapter series belong to an exporter, not a battery: they filter on $instance alone.
            per_adapter = "bms_adapter_" in expr and 'instance=~"$instance"' in expr and "battery" not in expr
            if not per_battery and not per_adapter and 'bank=~"$bank"' not in expr:
                problems.append(f"{title} {t.get('refId')}: query filters on neither $instance and $battery nor $bank")
            if "bms_connected" in expr and "down" in mapped_texts(p, t.get("refId"), "0"):
                problems.append(f"{title}: a closed link (keep_connected: false) shows as down")
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if p["type"] in ("stat", "timeseries"):
            if unit not in KNOWN_UNITS:
                problems.append(f"{title}: unit {unit!r} is not one of {sorted(KNOWN_UNITS)}")
            if p["type"] == "stat":
                stat_units.add(unit)
    for p in all_panels(d.get("panels", [])):  # rows take grid space too
        g = p.get("gridPos", {})
        if g.get("x", 0) + g.get("w", 0) > 24:
            problems.append(f"{p.get('title')}: wider than the grid")
        area = {(x, y) for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0))
                for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0))}
        clash = area & cells.keys()
        if clash:
            problems.append(f"{p.get('title')}: overlaps {cells[min(clash)]}")
        cells.update(dict.fromkeys(area, p.get("title")))
    missing = REQUIRED_STAT_UNITS - stat_units
    if missing:
        problems.append(f"no stat panel with unit(s) {sorted(missing)}")
    return len(panels), problems


def main():
    problems = []
    dashboards = sorted(glob.glob(os.path.join(REPO_DIR, "grafana", "*.json")))
    if not dashboards:
        problems.append("no dashboard in grafana/")
    for path in dashboards:
        count, found = check_dashboard(path)
        print(f"{os.path.basename(path)}: {count} panels")
        problems += [f"{os.path.basename(path)}: {p}" for p in found]
    for rel in PROVISIONING:
        if not os.path.isfile(os.path.join(REPO_DIR, rel)):
            problems.append(f"missing {rel}")
    for p in problems:
        print(f"  FAIL {p}")
    print("dashboard: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
