# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""grafana_report_dashboard: one write at most, none when the installed dashboard is the same."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.reportops.grafana.plugins.modules.grafana_report_dashboard import main

BASE = dict(url="http://grafana.test:3000", token="glsa_unit_test_token_value_0123456789")
WANTED = {"uid": "reportops-report-deliveries", "title": "Report deliveries", "panels": [{"type": "annolist", "id": 1}],
          "templating": {"list": []}}
FOLDER = {"id": 7, "uid": "f1", "title": "Reports"}
NOT_FOUND = {"message": "Dashboard not found"}


def installed(model=None, folder_uid="f1", version=4):
    return {"dashboard": dict(model or WANTED, id=12, version=version),
            "meta": {"folderUid": folder_uid, "url": "/d/reportops-report-deliveries/report-deliveries", "version": version}}


def routes(fetch):
    return [(call["method"], call["url"].split("3000", 1)[1].split("?")[0]) for call in fetch.calls]


def test_same_dashboard_in_the_same_folder_writes_nothing(run_module, fetch):
    fetch.reply(200, [FOLDER]).reply(200, installed())
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports"))
    assert not outcome.failed and not outcome.result["changed"]
    assert routes(fetch) == [("GET", "/api/folders"), ("GET", "/api/dashboards/uid/reportops-report-deliveries")]
    assert outcome.result["folder"] == {"uid": "f1", "title": "Reports", "created": False}
    assert outcome.result["dashboard"]["version"] == 4


def test_new_dashboard_and_missing_folder_are_made_once(run_module, fetch):
    fetch.reply(200, [{"id": 3, "uid": "x", "title": "Other"}]).reply(200, FOLDER).reply(404, NOT_FOUND)
    fetch.reply(200, {"id": 12, "uid": WANTED["uid"], "url": "/d/reportops-report-deliveries/report-deliveries",
                      "status": "success", "version": 1, "slug": "report-deliveries"})
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports"))
    assert outcome.result["changed"] and outcome.result["folder"]["created"] is True
    assert routes(fetch) == [("GET", "/api/folders"), ("POST", "/api/folders"),
                             ("GET", "/api/dashboards/uid/reportops-report-deliveries"), ("POST", "/api/dashboards/db")]
    bodies = fetch.bodies()
    assert bodies[1] == {"title": "Reports"}
    assert bodies[3] == {"dashboard": dict(WANTED, id=None), "folderUid": "f1", "message": "Installed by reportops.grafana",
                         "overwrite": False}
    assert outcome.result["dashboard"]["version"] == 1
    assert outcome.result["diff"] == {"before": {}, "after": {"dashboard": WANTED, "folder_uid": "f1"}}


def test_a_changed_dashboard_is_saved_with_the_version_read(run_module, fetch):
    edited = dict(WANTED, time={"from": "now-1h", "to": "now"})
    fetch.reply(200, [FOLDER]).reply(200, installed(edited)).reply(200, {"version": 5, "url": "/d/x/y"})
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports"))
    assert outcome.result["changed"]
    # The id and version read: a save in Grafana in between is a 412, not lost.
    assert fetch.bodies()[2]["dashboard"] == dict(WANTED, id=12, version=4)
    assert outcome.result["diff"]["before"]["dashboard"] == edited


def test_a_dashboard_in_another_folder_is_moved(run_module, fetch):
    fetch.reply(200, [FOLDER]).reply(200, installed(folder_uid="")).reply(200, {"version": 5})
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports"))
    assert outcome.result["changed"] and fetch.bodies()[2]["folderUid"] == "f1"


def test_check_mode_reads_only(run_module, fetch):
    fetch.reply(200, []).reply(404, NOT_FOUND)
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports"), check_mode=True)
    assert outcome.result["changed"] and outcome.result["folder"] == {"uid": None, "title": "Reports", "created": True}
    assert [method for method, dummy in routes(fetch)] == ["GET", "GET"]
    # The folder to be made has no uid yet.
    assert outcome.result["diff"] == {"before": {}, "after": {"dashboard": WANTED, "folder_uid": None}}


def test_folder_uid_is_made_with_its_title_when_missing(run_module, fetch):
    fetch.reply(404, {"message": "Folder not found", "status": "not-found"}).reply(200, dict(FOLDER, uid="reports"))
    fetch.reply(404, NOT_FOUND).reply(200, {"version": 1})
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports", folder_uid="reports"))
    assert routes(fetch)[:2] == [("GET", "/api/folders/reports"), ("POST", "/api/folders")]
    assert fetch.bodies()[1] == {"title": "Reports", "uid": "reports"}
    assert outcome.result["changed"]


def test_missing_folder_uid_without_title_fails(run_module, fetch):
    fetch.reply(404, {"message": "Folder not found", "status": "not-found"})
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder_uid="reports"))
    assert outcome.failed and outcome.result["msg"].endswith("Set folder to make the folder when it is missing.")
    assert len(fetch.calls) == 1


def test_at_the_root_without_folder_options(run_module, fetch):
    fetch.reply(200, installed(folder_uid=""))
    outcome = run_module(main, dict(BASE, dashboard=WANTED))
    assert not outcome.result["changed"] and outcome.result["folder"] is None
    assert routes(fetch) == [("GET", "/api/dashboards/uid/reportops-report-deliveries")]


def test_version_conflict_says_what_to_do(run_module, fetch):
    fetch.reply(200, [FOLDER]).reply(200, installed(dict(WANTED, title="Old"))).reply(
        412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports"))
    assert outcome.failed and outcome.result["status"] == 412
    assert "The dashboard has been changed by someone else" in outcome.result["msg"]
    assert "run again to install over the change" in outcome.result["msg"]


@pytest.mark.parametrize("dashboard, message", [
    ({"title": "t"}, "dashboard must have a uid of 1 to 40 characters"),
    ({"uid": "x" * 41, "title": "t"}, "dashboard must have a uid of 1 to 40 characters"),
    ({"uid": "x", "title": " "}, "dashboard must have a title."),
])
def test_bad_dashboards_fail_before_any_request(run_module, fetch, dashboard, message):
    outcome = run_module(main, dict(BASE, dashboard=dashboard))
    assert outcome.failed and message in outcome.result["msg"] and fetch.calls == []


def test_a_model_grafana_migrated_is_not_a_change(run_module, fetch):
    # Grafana 12+ may answer a newer schema: a newer schemaVersion, defaults filled, panels stamped, the built-in annotation.
    wanted = dict(WANTED, schemaVersion=36, annotations={"list": [{"name": "mine"}]})
    migrated = dict(wanted, schemaVersion=41, editable=True, graphTooltip=0, links=[], timezone="browser",
                    annotations={"list": [{"builtIn": 1, "name": "Annotations & Alerts"}, {"name": "mine"}]},
                    panels=[dict(WANTED["panels"][0], pluginVersion="12.0.0", options={},
                                 fieldConfig={"defaults": {}, "overrides": []})])
    fetch.reply(200, [FOLDER]).reply(200, installed(migrated))
    outcome = run_module(main, dict(BASE, dashboard=wanted, folder="Reports"))
    assert not outcome.failed and not outcome.result["changed"] and len(fetch.calls) == 2
    # An edit of a managed value still is a change.
    fetch.reply(200, [FOLDER]).reply(200, installed(dict(migrated, title="Edited"))).reply(200, {"version": 5})
    assert run_module(main, dict(BASE, dashboard=wanted, folder="Reports")).result["changed"]


def test_409_conflict_of_grafana_12_is_explained(run_module, fetch):
    fetch.reply(200, [FOLDER]).reply(200, installed(dict(WANTED, title="Old"))).reply(
        409, {"message": "Dashboard already exists. Use overwrite flag to update."})
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports"))
    assert outcome.failed and outcome.result["status"] == 409
    assert "Grafana 12 and later answer 409 when the dashboard was saved in Grafana since it was read" in outcome.result["msg"]
    assert "run again to install over the change" in outcome.result["msg"]


def test_folders_are_searched_on_every_page(run_module, fetch):
    fetch.reply(200, [{"id": n, "uid": "a%d" % n, "title": "Archive %04d" % n} for n in range(1000)])
    fetch.reply(200, [FOLDER]).reply(200, installed())
    outcome = run_module(main, dict(BASE, dashboard=WANTED, folder="Reports"))
    assert not outcome.result["changed"] and outcome.result["folder"]["uid"] == "f1"
    assert [parse_qs(urlsplit(call["url"]).query)["page"] for call in fetch.calls[:2]] == [["1"], ["2"]]
