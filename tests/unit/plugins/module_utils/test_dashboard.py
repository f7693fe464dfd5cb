# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dashboard comparison, both ways: what Grafana 12+ fills and what it drops when it reads a model back.

Grafana's source (github.com/grafana/grafana, read through the search tool in 2026):
apps/dashboard/pkg/migration/frontend_defaults.go, cleanupDashboardDefaults (style "dark", hideControls false, a null
id, the transient preload and iteration), cleanupPanelForSave (panel options {}, links [], transparent false, title
"", the default gridPos, targets [{"refId": "A"}] and fieldConfig, empty transformations) and
removeNullValuesRecursively (null values); migration-test-analysis.md (empty links and options removed).
"""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils._dashboard import content, dropped_by_grafana, managed

SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "roles", "report_delivery",
                       "files", "report-deliveries.json")


def read_back(model):
    """What a Grafana that drops defaults answers for `model`: the dropped fields removed, at every level."""
    if isinstance(model, dict):
        return dict((key, read_back(value)) for key, value in model.items() if not dropped_by_grafana(key, value))
    if isinstance(model, list):
        return [read_back(item) for item in model]
    return model


@pytest.mark.parametrize("key, value, dropped", [
    ("style", "dark", True), ("style", "light", False),
    ("hideControls", False, True), ("hideControls", True, False), ("hideControls", 0, False),
    ("links", [], True), ("links", [{"title": "x"}], False),
    ("options", {}, True), ("options", {"limit": 10}, False),
    ("value", None, True), ("gnetId", None, True),
    ("transparent", False, True), ("targets", [{"refId": "A"}], True), ("targets", [{"refId": "B"}], False),
    ("gridPos", {"x": 0, "y": 0, "h": 3, "w": 6}, True), ("gridPos", {"x": 0, "y": 0, "h": 8, "w": 6}, False),
    ("iteration", 1767225600000, True), ("title", "", True), ("title", "Report deliveries", False),
])
def test_dropped_by_grafana(key, value, dropped):
    assert dropped_by_grafana(key, value) is dropped


def test_a_model_with_dropped_defaults_is_the_same_both_ways():
    wanted = {"uid": "u", "title": "T", "style": "dark", "hideControls": False, "gnetId": None,
              "panels": [{"id": 1, "type": "annolist", "options": {}, "links": [], "transparent": False,
                          "fieldConfig": {"defaults": {"thresholds": {"steps": [{"color": "green", "value": None}]}}}}]}
    installed = dict(read_back(wanted), id=3, version=2, editable=True)
    assert "style" not in installed and "value" not in installed["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"][0]
    assert managed(content(installed), content(wanted)) == content(wanted)


def test_a_changed_value_still_differs():
    wanted = {"uid": "u", "title": "T", "style": "dark", "panels": [{"id": 1, "options": {}}]}
    light = dict(wanted, style="light")
    assert managed(content(light), content(wanted)) != content(wanted)
    # A field the wanted model sets to a value Grafana keeps, missing from the installed one, is a change.
    assert managed({"uid": "u", "title": "T", "panels": [{"id": 1}]}, {"uid": "u", "title": "T", "refresh": "1m",
                                                                       "panels": [{"id": 1}]}) != {
        "uid": "u", "title": "T", "refresh": "1m", "panels": [{"id": 1}]}


def test_the_shipped_dashboard_read_back_without_its_defaults_is_unchanged():
    with open(SHIPPED, encoding="utf-8") as handle:
        shipped = json.load(handle)
    assert shipped.get("style") == "dark"  # the case of issue 32: grafana-foundation-sdk sets it
    installed = dict(read_back(copy.deepcopy(shipped)), id=5, version=1, schemaVersion=41)
    assert installed != shipped
    assert managed(content(installed), content(shipped)) == content(shipped)
