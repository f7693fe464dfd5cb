# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.reportops.grafana.plugins.modules.grafana_report_info import main

BASE = dict(url="http://grafana.test:3000", token="glsa_unit_test_token_value_0123456789")
WEEKLY = {"id": 3, "uid": "r3", "name": "Weekly SLO", "recipients": "a@x.io;b@x.io", "state": "scheduled",
          "schedule": {"frequency": "weekly"}, "dashboards": [{"dashboard": {"id": 1, "uid": "d1", "name": "SLOs"}}],
          "message": "not returned"}
LEGACY = {"id": 4, "name": "Old", "recipients": "c@x.io", "state": "paused", "dashboardId": 9, "dashboardUid": "old"}


@pytest.mark.parametrize("check_mode", [False, True])
def test_list_all(run_module, fetch, check_mode):
    fetch.reply(200, [WEEKLY, LEGACY])
    outcome = run_module(main, BASE, check_mode=check_mode)
    assert not outcome.result["changed"]
    weekly, legacy = outcome.result["reports"]
    assert weekly == {"id": 3, "uid": "r3", "name": "Weekly SLO", "recipients": ["a@x.io", "b@x.io"], "state": "scheduled",
                      "schedule": {"frequency": "weekly"}, "dashboards": WEEKLY["dashboards"], "definition": {
                          "name": "Weekly SLO", "recipients": ["a@x.io", "b@x.io"], "subject": "", "body": "not returned",
                          "dashboards": [{"uid": "d1", "time_range": {"from": "", "to": ""}, "variables": {}}],
                          "schedule": {"frequency": "weekly"}, "formats": ["pdf"], "orientation": "landscape", "layout": "grid",
                          "scale_factor": 2, "include_dashboard_link": False, "pdf_show_template_variables": False,
                          "pdf_combine_one_file": False, "paused": False}}
    assert legacy["dashboards"] == [{"dashboard": {"id": 9, "uid": "old", "name": None}}] and legacy["uid"] == ""
    assert legacy["definition"]["dashboards"] == [{"uid": "old", "time_range": {"from": "", "to": ""}, "variables": {}}]
    assert legacy["definition"]["paused"] is True and "schedule" not in legacy["definition"]


def test_a_report_that_is_no_definition_is_listed_with_a_warning(run_module, fetch):
    fetch.reply(200, [dict(WEEKLY, schedule={"frequency": "weekly", "startDate": "someday"})])
    outcome = run_module(main, BASE)
    assert outcome.result["reports"][0]["definition"] is None
    assert any("report 3 (Weekly SLO) has no definition" in warning for warning in outcome.warnings)


def test_by_name_is_exact(run_module, fetch):
    fetch.reply(200, [WEEKLY, LEGACY, dict(WEEKLY, id=8)]).reply(200, [WEEKLY]).reply(200, [WEEKLY])
    assert [report["id"] for report in run_module(main, dict(BASE, name="Weekly SLO")).result["reports"]] == [3, 8]
    assert run_module(main, dict(BASE, name="weekly slo")).result["reports"] == []
    assert run_module(main, dict(BASE, name="Nope")).result["reports"] == []


def test_by_uid(run_module, fetch):
    fetch.reply(200, [WEEKLY, LEGACY, dict(WEEKLY, id=8, uid="r8")]).reply(200, [WEEKLY])
    assert [report["id"] for report in run_module(main, dict(BASE, uid="r8")).result["reports"]] == [8]
    assert run_module(main, dict(BASE, uid="R8")).result["reports"] == []


def test_by_id(run_module, fetch):
    fetch.reply(200, WEEKLY).reply(404, {"message": "Report not found"})
    assert run_module(main, dict(BASE, report_id="3")).result["reports"][0]["name"] == "Weekly SLO"
    assert fetch.calls[0]["url"].endswith("/api/reports/3")
    assert run_module(main, dict(BASE, id=99)).result["reports"] == []


def test_forbidden_names_reports_read(run_module, fetch):
    fetch.reply(403, {"title": "Access denied", "message": "Permissions needed: reports:read"})
    outcome = run_module(main, BASE)
    assert outcome.failed and "reports:read permission" in outcome.result["msg"] and outcome.result["status"] == 403


@pytest.mark.parametrize("args, text", [
    (dict(report_id="x1"), "report_id must be a positive integer"),
    (dict(report_id=3, name="Weekly SLO"), "mutually exclusive"),
    (dict(uid="r3", name="Weekly SLO"), "mutually exclusive"),
])
def test_invalid_input(run_module, fetch, args, text):
    outcome = run_module(main, dict(BASE, **args))
    assert outcome.failed and text in outcome.result["msg"] and fetch.calls == []
