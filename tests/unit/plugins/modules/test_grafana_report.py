# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import json

import pytest
import yaml

from ansible_collections.reportops.grafana.plugins.modules import grafana_report
from ansible_collections.reportops.grafana.plugins.modules.grafana_report import main

from ansible_collections.reportops.grafana.tests.unit.plugins.module_utils.test_report_definition import BAD, SAVED

TOKEN = "glsa_unit_test_token_value_0123456789"
BASE = dict(url="http://grafana.test:3000", token=TOKEN, name="Weekly SLO")
OTHER = dict(SAVED, id=2, name="Other")


@pytest.fixture
def run(run_module):
    def call(args, check_mode=False):
        outcome = run_module(main, dict(BASE, **args), check_mode=check_mode)
        assert TOKEN not in json.dumps(outcome.result)
        return outcome

    return call


def methods(fetch):
    return ["%s %s" % (call["method"], call["url"].split("3000", 1)[1]) for call in fetch.calls]


def test_unchanged_reads_and_writes_nothing(run, fetch):
    fetch.reply(200, [OTHER, SAVED]).reply(200, SAVED)
    outcome = run(dict(recipients=["LEAD@example.com", "sre@example.com"], dashboards=[dict(uid="slo")],
                       schedule=dict(start="2030-05-06 09:00", frequency="weekly"), formats=["pdf"], paused=False))
    assert not outcome.failed and not outcome.result["changed"]
    assert (outcome.result["action"], outcome.result["report_id"], outcome.result["changed_fields"]) == ("unchanged", 4, [])
    assert methods(fetch) == ["GET /api/reports", "GET /api/reports/4"]


def test_update_sends_one_put_with_the_whole_definition(run, fetch):
    updated = dict(SAVED, subject="New")
    fetch.reply(200, [SAVED]).reply(200, SAVED).reply(200, {"message": "Report updated"}).reply(200, updated)
    outcome = run(dict(subject="New", paused=False))
    assert outcome.result["changed"] and outcome.result["action"] == "updated"
    assert outcome.result["changed_fields"] == ["subject"] and outcome.result["report"]["subject"] == "New"
    assert methods(fetch) == ["GET /api/reports", "GET /api/reports/4", "PUT /api/reports/4", "GET /api/reports/4"]
    body = fetch.bodies()[2]
    assert body["subject"] == "New" and body["recipients"] == SAVED["recipients"] and body["schedule"] == SAVED["schedule"]
    assert body["dashboards"][0]["reportVariables"] == {"env": ["prod", "eu"]} and body["state"] == "scheduled"
    assert outcome.result["diff"] == {"before": {"name": "Weekly SLO", "state": "present", "subject": "", "paused": False},
                                      "after": {"name": "Weekly SLO", "state": "present", "subject": "New", "paused": False}}


def test_pause_in_check_mode_writes_nothing(run, fetch):
    fetch.reply(200, [SAVED]).reply(200, SAVED)
    outcome = run(dict(paused=True), check_mode=True)
    assert outcome.result["changed"] and outcome.result["changed_fields"] == ["paused"]
    assert outcome.result["report"]["state"] == "paused"
    assert methods(fetch) == ["GET /api/reports", "GET /api/reports/4"]


def test_create_sends_what_was_set(run, fetch):
    body = {"name": "Weekly SLO", "recipients": "a@example.com", "state": "paused", "enableDashboardUrl": True,
            "dashboards": [{"dashboard": {"uid": "slo"}, "timeRange": {"from": "", "to": ""}, "reportVariables": {"env": ["prod"]}}],
            "schedule": {"frequency": "daily", "startDate": "2030-05-06T09:00:00+02:00", "timeZone": "Europe/Warsaw",
                         "intervalFrequency": "", "intervalAmount": 0, "workdaysOnly": False, "dayOfMonth": "", "endDate": None}}
    fetch.reply(200, [OTHER]).reply(200, {"id": 9, "message": "Report created"}).reply(200, dict(body, id=9))
    outcome = run(dict(recipients=["a@example.com"], dashboards=[dict(uid="slo", variables=dict(env="prod"))],
                       schedule=dict(frequency="daily", start="2030-05-06 09:00", time_zone="Europe/Warsaw"), paused=True))
    assert (outcome.result["changed"], outcome.result["action"], outcome.result["report_id"]) == (True, "created", 9)
    assert methods(fetch) == ["GET /api/reports", "POST /api/reports", "GET /api/reports/9"]
    assert fetch.bodies()[1] == body
    assert outcome.result["diff"]["before"] == {"name": "Weekly SLO", "state": "absent"}


def test_a_field_grafana_did_not_keep_fails_with_its_version(run, fetch):
    fetch.reply(200, [SAVED]).reply(200, SAVED).reply(200, {"message": "Report updated"}).reply(200, SAVED)
    fetch.reply(200, {"commit": "abc", "database": "ok", "version": "10.4.2"})
    outcome = run(dict(subject="Weekly", pdf_combine_one_file=True))
    assert outcome.failed and outcome.result["changed"] and outcome.result["action"] == "updated"
    assert methods(fetch)[-1] == "GET /api/health"
    assert outcome.result["msg"].startswith("Grafana 10.4.2 did not keep what the report 'Weekly SLO' (id 4) was updated with: ")
    assert "subject: asked for 'Weekly', Grafana kept ''" in outcome.result["msg"]
    assert "pdf_combine_one_file: asked for True, Grafana kept False" in outcome.result["msg"]


def test_test_email_goes_to_test_email_recipients_and_saves_nothing(run, fetch):
    fetch.reply(200, [SAVED]).reply(200, SAVED).reply(200, {"message": "Test email sent"})
    outcome = run(dict(send_test_email=True, test_email_recipients=["me@example.com"]))
    assert not outcome.result["changed"] and methods(fetch)[-1] == "POST /api/reports/test-email"
    assert fetch.bodies()[-1] == dict(SAVED, recipients="me@example.com")


def test_create_in_check_mode_predicts(run, fetch):
    fetch.reply(200, [])
    outcome = run(dict(recipients=["a@example.com"], dashboards=[dict(uid="slo")], send_test_email=True), check_mode=True)
    assert outcome.result["changed"] and outcome.result["report_id"] is None
    assert outcome.result["report"]["recipients"] == "a@example.com" and "test_email" not in outcome.result
    assert methods(fetch) == ["GET /api/reports"]


def test_create_needs_recipients_and_dashboards(run, fetch):
    fetch.reply(200, [OTHER])
    outcome = run(dict(subject="x"))
    assert outcome.failed and "creating it needs recipients and dashboards" in outcome.result["msg"]
    assert methods(fetch) == ["GET /api/reports"]


def test_duplicate_names_fail_and_write_nothing(run, fetch):
    fetch.reply(200, [SAVED, dict(SAVED, id=8)])
    outcome = run(dict(state="absent"))
    assert outcome.failed and "matches 2 reports in this Grafana (ids 4, 8)" in outcome.result["msg"]
    assert methods(fetch) == ["GET /api/reports"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_delete(run, fetch, check_mode):
    fetch.reply(200, [SAVED]).reply(200, SAVED).reply(200, {"message": "Report config was removed"})
    outcome = run(dict(state="absent"), check_mode=check_mode)
    assert (outcome.result["changed"], outcome.result["action"]) == (True, "deleted")
    assert outcome.result["diff"]["after"] == {"name": "Weekly SLO", "state": "absent"}
    assert outcome.result["diff"]["before"]["recipients"] == ["Sre@example.com", "lead@example.com"]
    expected = ["GET /api/reports", "GET /api/reports/4"] + ([] if check_mode else ["DELETE /api/reports/4"])
    assert methods(fetch) == expected


def test_absent_and_missing_is_unchanged(run, fetch):
    fetch.reply(200, [OTHER])
    outcome = run(dict(state="absent"))
    assert (outcome.result["changed"], outcome.result["action"], outcome.result["report_id"]) == (False, "unchanged", None)


def test_test_email_after_applying(run, fetch):
    fetch.reply(200, [SAVED]).reply(200, SAVED).reply(200, {"message": "Test email sent"})
    outcome = run(dict(recipients=["sre@example.com", "lead@example.com"], send_test_email=True))
    assert not outcome.result["changed"] and outcome.result["test_email"] == "Test email sent"
    assert methods(fetch)[-1] == "POST /api/reports/test-email"
    body = fetch.bodies()[-1]
    assert body == SAVED


def test_grafana_error_is_reported(run, fetch):
    fetch.reply(200, [SAVED]).reply(200, SAVED).reply(403, {"message": "Permissions needed: reports:write"})
    outcome = run(dict(subject="x"))
    assert outcome.failed and outcome.result["status"] == 403 and "reports:write" in outcome.result["msg"]


# Each bad definition fails before any request, naming the field (the argument spec or the checks).
@pytest.mark.parametrize("options, field", BAD)
def test_bad_input_fails_before_any_request(run, fetch, options, field):
    outcome = run(options)
    assert outcome.failed and field in outcome.result["msg"] and fetch.calls == []


def test_every_option_names_its_grafana_field():
    options = yaml.safe_load(grafana_report.DOCUMENTATION)["options"]

    def walk(spec, prefix=""):
        for name, doc in spec.items():
            text = " ".join(doc["description"]) if isinstance(doc["description"], list) else doc["description"]
            if name not in ("state", "send_test_email"):
                assert "Grafana field" in text, prefix + name
            walk(doc.get("suboptions") or {}, prefix + name + ".")

    walk(options)
    assert copy.deepcopy(sorted(options)) == sorted(grafana_report.REPORT_ARGUMENT_SPEC)
