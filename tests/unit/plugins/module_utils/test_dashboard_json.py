# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shipped "Report deliveries" dashboard: its shape, checked against what Grafana reads, and that it is the
build of tests/utils/build_dashboard.py (grafana-foundation-sdk).

Shapes follow Grafana's source (github.com/grafana/grafana, read through the search tool in 2026):
- public/app/plugins/panel/annolist/panelcfg.cue: panel type "annolist", options onlyFromThisDashboard,
  onlyInTimeRange, tags, limit, showUser, showTime, showTags, navigateToPanel, navigateBefore, navigateAfter;
  AnnoListPanel.tsx replaces template variables in each tag (replaceVariables) and asks GET /api/annotations
  with them, and with from/to only when onlyInTimeRange.
- public/app/plugins/datasource/grafana/types.ts: GrafanaAnnotationType "dashboard" | "tags"; a tags query has
  tags, limit and matchAny (false: every tag must match); datasource.ts prepares an annotation query as the
  query plus refId and queryType "annotations", and replaces template variables in its tags.
- The dashboard's templating.list: a "custom" variable (query "text : value, ...", includeAll, allValue) and
  a "textbox" variable (query is its default).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _annotation_record
from ansible_collections.reportops.grafana.plugins.module_utils._dashboard import checked_dashboard
from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import ANNOTATION_TAG

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
SHIPPED = os.path.join(ROOT, "roles", "report_delivery", "files", "report-deliveries.json")
BUILDER = os.path.join(ROOT, "tests", "utils", "build_dashboard.py")
GRAFANA = {"type": "datasource", "uid": "grafana"}

with open(SHIPPED, encoding="utf-8") as shipped_file:
    TEXT = shipped_file.read()
DASHBOARD = json.loads(TEXT)


def panel(kind):
    found = [item for item in DASHBOARD["panels"] if item["type"] == kind]
    assert len(found) == 1, "one %s panel" % kind
    return found[0]


def variable(name):
    return next(item for item in DASHBOARD["templating"]["list"] if item["name"] == name)


def record_tags(outcome, report_id="3", delivery="weekly-slo"):
    """The tags of a record as the history writes them."""
    fields = dict(outcome=outcome, report_id=report_id, delivery=delivery)
    return _annotation_record.record_tags(fields, "0" * 64)


def shown(query_tags, tags, values):
    """Whether a tags query (all must match, variables replaced by `values`) shows a record with `tags`."""
    wanted = [values.get(tag[1:], tag) if tag.startswith("$") else tag for tag in query_tags]
    return all(tag in tags for tag in wanted)


def test_the_dashboard_is_one_the_module_installs():
    assert checked_dashboard(DASHBOARD) is DASHBOARD
    assert DASHBOARD["uid"] == "reportops-report-deliveries" and DASHBOARD["title"] == "Report deliveries"
    assert "id" not in DASHBOARD and "version" not in DASHBOARD


def test_annotation_list_of_the_records_with_the_variables():
    records = panel("annolist")
    options = records["options"]
    # Organization annotations: not only those of this dashboard; those of the time range.
    assert options["onlyFromThisDashboard"] is False and options["onlyInTimeRange"] is True
    assert options["tags"] == [ANNOTATION_TAG, "$outcome", "$report"]
    assert options["showTime"] is True and options["showTags"] is True and options["limit"] >= 100
    assert set(options) <= {"onlyFromThisDashboard", "onlyInTimeRange", "tags", "limit", "showUser", "showTime", "showTags",
                            "navigateToPanel", "navigateBefore", "navigateAfter"}


def test_records_on_a_time_axis_one_annotation_query_per_outcome():
    queries = DASHBOARD["annotations"]["list"]
    assert [query["target"]["tags"][1] for query in queries] == ["outcome:%s" % outcome for outcome in _annotation_record.RECORD_OUTCOMES]
    for query in queries:
        assert query["datasource"] == GRAFANA and query["enable"] is True and query["iconColor"]
        target = query["target"]
        assert target["type"] == "tags" and target["matchAny"] is False and target["limit"] > 0
        assert target["tags"][0] == ANNOTATION_TAG and target["tags"][2] == "$report"
    timeline = panel("timeseries")
    assert timeline["targets"] == [{"refId": "A", "datasource": GRAFANA, "queryType": "annotations",
                                    "target": {"type": "tags", "tags": [ANNOTATION_TAG, "$outcome", "$report"],
                                               "matchAny": False, "limit": 1000}}]


def test_outcome_variable_offers_each_outcome_and_all():
    outcome = variable("outcome")
    assert outcome["type"] == "custom" and outcome["includeAll"] is True and outcome["multi"] is False
    pairs = [item.split(" : ") for item in outcome["query"].split(", ")]
    assert pairs == [[name, "outcome:%s" % name] for name in _annotation_record.RECORD_OUTCOMES]
    # "All" is the tag of every record, so that the query's "every tag must match" filters nothing.
    assert outcome["allValue"] == ANNOTATION_TAG and outcome["current"]["value"] == "$__all"


def test_report_variable_is_a_tag_with_every_record_by_default():
    report = variable("report")
    assert report["type"] == "textbox" and report["query"] == ANNOTATION_TAG
    assert report["current"]["value"] == ANNOTATION_TAG


@pytest.mark.parametrize("values, outcome, expected", [
    ({"outcome": ANNOTATION_TAG, "report": ANNOTATION_TAG}, "failed", True),
    ({"outcome": "outcome:failed", "report": ANNOTATION_TAG}, "failed", True),
    ({"outcome": "outcome:sent", "report": ANNOTATION_TAG}, "failed", False),
    ({"outcome": ANNOTATION_TAG, "report": "report:3"}, "sent", True),
    ({"outcome": ANNOTATION_TAG, "report": "report:4"}, "sent", False),
    ({"outcome": ANNOTATION_TAG, "report": "delivery-name:weekly-slo"}, "skipped", True),
])
def test_the_filters_match_the_tags_the_records_have(values, outcome, expected):
    tags = record_tags(outcome)
    assert shown(panel("annolist")["options"]["tags"], tags, values) is expected
    on_axis = [query for query in DASHBOARD["annotations"]["list"] if shown(query["target"]["tags"], tags, values)]
    assert [query["name"] for query in on_axis] == (["Deliveries %s" % outcome] if values["report"] in tags else [])


@pytest.mark.parametrize("report_id, values, listed", [
    ("3", {"outcome": ANNOTATION_TAG, "report": ANNOTATION_TAG}, True),
    ("3", {"outcome": "outcome:overdue", "report": "delivery-name:weekly-slo"}, True),
    ("3", {"outcome": ANNOTATION_TAG, "report": "report:3"}, True),
    (None, {"outcome": "outcome:overdue", "report": ANNOTATION_TAG}, True),
    (None, {"outcome": ANNOTATION_TAG, "report": "report:3"}, False),  # no record of it in the window: no report tag
    ("3", {"outcome": "outcome:failed", "report": ANNOTATION_TAG}, False),
])
def test_an_overdue_record_shows_in_the_list_and_on_the_time_axis(report_id, values, listed):
    entry = dict(delivery="weekly-slo", message="no confirmed send since ...", last_sent=None, due="2026-12-01T06:00:00Z",
                 overdue_since="2026-12-02T00:00:00Z", period_due="2026-12-01T06:00:00Z", missed=1)
    tags = _annotation_record.record_tags(_annotation_record.overdue_record_fields(entry, None, report_id, "r", None))
    assert shown(panel("annolist")["options"]["tags"], tags, values) is listed
    # The time axis has one query per outcome, filtered by the report variable only.
    on_axis = [query["name"] for query in DASHBOARD["annotations"]["list"] if shown(query["target"]["tags"], tags, values)]
    assert on_axis == (["Deliveries overdue"] if values["report"] in tags else [])


def test_the_shipped_file_is_the_sdk_build():
    if sys.version_info < (3, 11) or importlib.util.find_spec("grafana_foundation_sdk") is None:
        pytest.skip("grafana-foundation-sdk (Python >= 3.11, tests/utils/requirements-test.txt) is not installed")
    spec = importlib.util.spec_from_file_location("build_dashboard", BUILDER)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert builder.render() == TEXT, "run tests/utils/build_dashboard.py and commit roles/report_delivery/files/report-deliveries.json"
    # The SDK reads it back as a dashboard model.
    from grafana_foundation_sdk.models.dashboard import Dashboard  # pylint: disable=import-outside-toplevel
    assert Dashboard.from_json(DASHBOARD).uid == DASHBOARD["uid"]
