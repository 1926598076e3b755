#!/usr/bin/env python3
"""Static checks of the Grafana dashboards in grafana/*.json: structure,
variables, data sources, units and layout. (Whether each query returns data
is test_prometheus_integration.py's job.) Python 3 stdlib only."""

import glob
import json
import os
import sys

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS_UID = "${datasource}"
# Grafana unit ids this project uses; a typo would silently show raw numbers.
KNOWN_UNITS = {"volt", "amp", "watt", "percentunit", "amph", "celsius", "s", "dBm", "opm", "none"}
# The stat panels the project asked for, by unit.
REQUIRED_STAT_UNITS = {"percentunit", "volt", "amp", "watt", "amph", "s"}
PROVISIONING = ["grafana/provisioning/dashboards/bms.yml", "grafana/provisioning/datasources/prometheus.yml"]


def all_panels(panels):
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


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
    battery = variables.get("battery", {})
    query = battery.get("query")
    query = query.get("query") if isinstance(query, dict) else query
    if query != "label_values(bms_up, battery)" or battery.get("definition") != query:
        problems.append(f"battery variable query is {query!r}")
    if not (battery.get("multi") and battery.get("includeAll")):
        problems.append("battery variable must allow multiple values and All")
    if battery.get("datasource", {}).get("uid") != DS_UID:
        problems.append("battery variable does not use the data source variable")

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
            if 'battery=~"$battery"' not in t.get("expr", ""):
                problems.append(f"{title} {t.get('refId')}: query does not filter on $battery")
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
