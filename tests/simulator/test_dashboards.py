# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dashboards and folders: POST /api/dashboards/db, GET /api/dashboards/uid/{uid}, /api/folders (issue 18).

Sources (github.com/grafana/grafana, read through the search tool in 2026):
- docs/sources/developers/http_api/dashboard.md: POST /api/dashboards/db takes {dashboard, folderUid,
  message, overwrite}; without folderUid an updated dashboard moves to the root; it answers
  {id, uid, url, status: "success", version, slug}; 412 with {"message", "status"} for
  "version-mismatch" and "name-exists". RBAC: dashboards:create on folders:* / folders:uid:*,
  dashboards:write on dashboards:* / dashboards:uid:* / folders:*. GET /api/dashboards/uid/{uid}
  answers {dashboard (with id, uid, version), meta (url, folderUid, slug ...)}.
- pkg/services/dashboards/errors.go: "Dashboard title cannot be empty" (400, empty-name), "The dashboard
  has been changed by someone else" (412, version-mismatch), "A dashboard with the same name in the folder
  already exists" (412, name-exists), "Access denied to save dashboard" (403), "uid too long, max 40 characters".
- docs/sources/developers/http_api/folder.md: GET /api/folders lists {id, uid, title} of the root folders
  (limit, default 1000; page) and needs folders:read; GET /api/folders/{uid} answers the folder (id, uid,
  title, url, created, version ...) or 404; POST /api/folders {uid, title} needs folders:create and
  answers 409 when the folder exists (a title taken: before 11.3 only, PR #90687; test_first_run.py).
  pkg/api/folder.go's error mapping: 404 {"status": "not-found",
  "message": "Folder not found"}; 409 with the folder errors' text ("A folder/dashboard with the same uid
  already exists", "A folder or dashboard in the general folder with the same name already exists").
Inferred (no public source read): the root folder's RBAC scope is folders:uid:general; an unknown
folderUid on a save is a 400 "Folder not found".
"""

import pytest

DASHBOARD = {"uid": "report-deliveries", "title": "Report deliveries", "tags": ["reportops.grafana"],
             "schemaVersion": 39, "panels": [{"type": "annolist", "id": 1, "title": "Records"}], "custom": {"x": 1}}


def save(sim, token="dashboards", **body):
    body.setdefault("dashboard", dict(DASHBOARD))
    return sim.api("POST", "/api/dashboards/db", token, json=body)


def folder(sim, token="dashboards", **body):
    return sim.api("POST", "/api/folders", token, json=body)


def test_create_answers_as_the_docs_and_get_returns_the_model_with_id_and_version(sim):
    assert folder(sim, uid="reports", title="Reports").status_code == 200
    answer = save(sim, folderUid="reports", message="reportops.grafana", overwrite=False)
    assert answer.status_code == 200, answer.text
    saved = answer.json()
    assert saved == {"id": saved["id"], "uid": "report-deliveries", "url": "/d/report-deliveries/report-deliveries",
                     "status": "success", "version": 1, "slug": "report-deliveries", "folderUid": "reports"}
    found = sim.api("GET", "/api/dashboards/uid/report-deliveries", "dashboards").json()
    # The model as sent (unknown fields too), with the id and version Grafana gave it.
    assert found["dashboard"] == dict(DASHBOARD, id=saved["id"], version=1)
    assert found["meta"]["folderUid"] == "reports" and found["meta"]["folderTitle"] == "Reports"
    assert found["meta"]["url"] == "/d/report-deliveries/report-deliveries"


def test_update_needs_the_current_version_or_overwrite(sim):
    assert save(sim).status_code == 200
    stale = save(sim, dashboard=dict(DASHBOARD, title="Report deliveries", version=0))
    assert stale.status_code == 412
    assert stale.json() == {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
    current = save(sim, dashboard=dict(DASHBOARD, version=1))
    assert current.status_code == 200 and current.json()["version"] == 2
    forced = save(sim, dashboard=dict(DASHBOARD, version=0), overwrite=True)
    assert forced.status_code == 200 and forced.json()["version"] == 3
    assert sim.api("GET", "/api/dashboards/uid/report-deliveries", "dashboards").json()["dashboard"]["version"] == 3


def test_an_update_without_folder_uid_moves_the_dashboard_to_the_root(sim):
    folder(sim, uid="reports", title="Reports")
    save(sim, folderUid="reports")
    assert save(sim, dashboard=dict(DASHBOARD, version=1)).status_code == 200
    assert sim.api("GET", "/api/dashboards/uid/report-deliveries", "dashboards").json()["meta"]["folderUid"] == ""


@pytest.mark.parametrize("dashboard, status, body", [
    ({"uid": "x", "title": " "}, 400, {"message": "Dashboard title cannot be empty", "status": "empty-name"}),
    ({"uid": "x" * 41, "title": "t"}, 400, {"message": "uid too long, max 40 characters"}),
])
def test_invalid_dashboards_are_refused(sim, dashboard, status, body):
    answer = save(sim, dashboard=dashboard)
    assert (answer.status_code, answer.json()) == (status, body)
    assert sim.api("GET", "/api/dashboards/uid/x", "dashboards").status_code == 404


def test_same_title_in_the_same_folder_is_name_exists(simulator):
    # Before 11.3 only: titles need not be unique since (test_first_run.py).
    sim = simulator(config={"version": "11.2.0"})
    save(sim)
    answer = save(sim, dashboard=dict(DASHBOARD, uid="other"))
    assert answer.status_code == 412 and answer.json()["status"] == "name-exists"


def test_unknown_folder_is_refused(sim):
    answer = save(sim, folderUid="missing")
    assert answer.status_code == 400 and answer.json()["message"] == "Folder not found"


def test_create_needs_dashboards_create_on_the_folder_and_update_dashboards_write(sim):
    folder(sim, uid="reports", title="Reports")
    # sim-dashboard-create may create in the root folder only, and may not write an existing dashboard.
    denied = save(sim, token="dashboard-create", folderUid="reports")
    assert denied.status_code == 403 and denied.json()["message"] == "Access denied to save dashboard"
    assert save(sim, token="dashboard-create").status_code == 200
    assert save(sim, token="dashboard-create", dashboard=dict(DASHBOARD, version=1)).status_code == 403
    # A token without any dashboards action.
    assert save(sim, token="admin", dashboard=dict(DASHBOARD, uid="new", title="New")).status_code == 403


def test_get_dashboard_of_a_report_still_answers(sim):
    # The dashboards the simulator knows from its reports (issue 19) are unchanged by the saved ones.
    answer = sim.api("GET", "/api/dashboards/uid/slo-overview", "sender")
    assert answer.status_code == 200 and answer.json()["dashboard"]["uid"] == "slo-overview"


def test_folders_create_list_get(sim):
    created = folder(sim, uid="reports", title="Reports")
    assert created.status_code == 200, created.text
    body = created.json()
    assert {key: body[key] for key in ("uid", "title", "url", "version")} == {
        "uid": "reports", "title": "Reports", "url": "/dashboards/f/reports/reports", "version": 1}
    generated = folder(sim, title="Another").json()
    assert generated["uid"] and generated["uid"] != "reports"
    listed = sim.api("GET", "/api/folders", "dashboards").json()
    assert listed == [{"id": generated["id"], "uid": generated["uid"], "title": "Another"},
                      {"id": body["id"], "uid": "reports", "title": "Reports"}]
    assert sim.api("GET", "/api/folders", "dashboards", params={"limit": 1, "page": 2}).json() == listed[1:]
    assert sim.api("GET", "/api/folders/reports", "dashboards").json() == body
    missing = sim.api("GET", "/api/folders/nope", "dashboards")
    assert (missing.status_code, missing.json()) == (404, {"message": "Folder not found", "status": "not-found"})


def test_folder_conflicts_and_permissions(simulator):
    # A title taken is a conflict before 11.3 only (test_first_run.py).
    sim = simulator(config={"version": "11.2.0"})
    folder(sim, uid="reports", title="Reports")
    same_uid = folder(sim, uid="reports", title="Other")
    assert same_uid.status_code == 409 and same_uid.json()["message"] == "A folder/dashboard with the same uid already exists"
    same_title = folder(sim, title="reports")
    assert same_title.status_code == 409
    assert folder(sim, title=" ").status_code == 400
    # folders:create and folders:read are the routes' actions.
    assert folder(sim, token="dashboard-create", title="X").status_code == 403
    assert sim.api("GET", "/api/folders", "admin").status_code == 403
    assert sim.api("GET", "/api/folders/reports", "admin").status_code == 403


def test_saved_dashboards_belong_to_their_org(sim):
    save(sim)
    assert sim.api("GET", "/api/dashboards/uid/report-deliveries", "org2").status_code == 404
