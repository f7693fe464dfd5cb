# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a pre-flight reads (issue 24): GET /api/frontend/settings, GET /api/access-control/user/permissions, the
Date header, and the switches for the edition, the licence, the renderer, reporting and the clock.

Sources (github.com/grafana/grafana, read through the search tool in 2026):
- pkg/api/dtos/frontend_settings.go and pkg/api/frontendsettings.go: buildInfo.version and buildInfo.edition,
  licenseInfo.expiry (Unix seconds), licenseInfo.stateInfo, licenseInfo.enabledFeatures, rendererAvailable
  (RenderService.IsAvailable), rendererVersion, reporting.enabled; the route needs a signed-in caller only
  (pkg/api/api.go, reqSignedIn), service accounts included.
- docs/sources/administration/service-accounts: "List a service account token's permissions" with
  GET /api/access-control/user/permissions, answered as {action: [scopes]}; pkg/api/accesscontrol.go.
- The Open Source build registers no reporting route: Grafana's router (pkg/web/router.go) answers an unknown
  route with 404 {"message": "Not found"}.
- Go's net/http writes a Date header on every answer (Grafana's clock).
Inferred (no public source): what the report routes do with an expired licence is not simulated; the pre-flight
reads the licence's end only.

Issue 32 (sources read the same way):
- pkg/services/rendering/rendering.go: IsAvailable is remoteAvailable (RendererServerUrl != "") or the plugin, so a
  configured service that never answered still says rendererAvailable; Version() is what /version answered, "" until
  then; render() checks the PDFRendering capability (">= 3.10.0") before a PDF, behind newPDFRendering before 13;
  capabilities.go: an unreadable version is "invalid plugin version"; http_mode.go: "failed to send request to remote
  rendering service". The report send renders first, so it fails the same way (its 500 body is inferred).
- pkg/api/api.go and admin.go: GET /api/admin/settings needs settings:read and answers the sections the caller's
  scopes cover; pkg/services/notifications: "SMTP not configured, check your grafana.ini config file's [smtp] section".
- pkg/services/accesscontrol/api/api.go: ?reloadcache=true reloads the caller's permissions.
- apps/dashboard/pkg/migration/frontend_defaults.go: what a read drops (test_dashboards_drop in this file).
"""

import email.utils
import time


def settings_of(sim, token="sender"):
    answer = sim.api("GET", "/api/frontend/settings", token)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_frontend_settings_of_enterprise(sim):
    body = settings_of(sim)
    assert body["buildInfo"]["edition"] == "Enterprise" and body["buildInfo"]["version"] == "11.5.0"
    assert body["licenseInfo"]["expiry"] > time.time() + 300 * 86400
    assert body["rendererAvailable"] is True and body["rendererVersion"] == "4.0.0"
    assert body["reporting"] == {"enabled": True}


def test_frontend_settings_need_a_signed_in_caller_only(sim):
    # A token without any report permission reads them; no credentials is a 401.
    assert settings_of(sim, "dashboards")["buildInfo"]["edition"] == "Enterprise"
    assert sim.api("GET", "/api/frontend/settings").status_code == 401


def test_switches_edition_licence_renderer_reporting(sim):
    sim.settings(edition="Open Source", renderer="missing", reporting_enabled=False)
    body = settings_of(sim)
    assert body["buildInfo"]["edition"] == "Open Source" and body["licenseInfo"]["expiry"] == 0
    assert body["rendererAvailable"] is False and body["rendererVersion"] == ""
    assert body["reporting"] == {"enabled": False}
    sim.settings(edition="Enterprise", license_expiry_days=-2)
    body = settings_of(sim)
    assert body["licenseInfo"]["expiry"] < time.time() - 86400 and body["licenseInfo"]["stateInfo"] == "Expired"


def test_open_source_build_has_no_report_routes(sim):
    sim.settings(edition="Open Source")
    for method, path in (("GET", "/api/reports"), ("GET", "/api/reports/1"), ("POST", "/api/reports/email"),
                         ("GET", "/api/reports/render/pdfs")):
        answer = sim.api(method, path, "admin")
        assert answer.status_code == 404 and answer.json() == {"message": "Not found"}, (method, path)
    assert sim.api("GET", "/api/annotations", "admin").status_code == 200


def test_user_permissions_give_actions_with_their_scopes(sim):
    answer = sim.api("GET", "/api/access-control/user/permissions", "dashboard-reader")
    assert answer.status_code == 200
    assert answer.json() == {"reports:read": ["reports:*"], "reports:send": ["reports:*"],
                             "annotations:read": ["annotations:type:dashboard"], "annotations:create": ["annotations:*"],
                             "annotations:write": ["annotations:*"], "annotations:delete": ["annotations:*"]}
    assert sim.api("GET", "/api/access-control/user/permissions", "send-only").json() == {"reports:send": ["reports:*"]}


def test_date_header_carries_the_clock_offset(sim):
    before = sim.api("GET", "/api/health")
    assert abs(email.utils.parsedate_to_datetime(before.headers["Date"]).timestamp() - time.time()) < 3
    sim.settings(clock_offset_seconds=120)
    after = sim.api("GET", "/api/health")
    assert abs(email.utils.parsedate_to_datetime(after.headers["Date"]).timestamp() - time.time() - 120) < 3


def test_a_silent_renderer_is_configured_but_has_no_version_and_fails_renders_and_sends(sim):
    sim.settings(renderer="silent")
    body = settings_of(sim)
    assert body["rendererAvailable"] is True and body["rendererVersion"] == ""
    pdf = sim.api("GET", "/api/reports/render/pdfs", "sender", params={
        "dashboards": '[{"dashboard": {"uid": "slo-overview"}}]', "title": "x"})
    assert pdf.status_code == 500 and "invalid plugin version" in pdf.json()["message"]
    sent = sim.send("1")
    assert sent.status_code == 500 and "invalid plugin version" in sent.json()["message"] and sim.outbox() == []


def test_a_missing_renderer_fails_sends_as_grafana_does(sim):
    """Issue 31, point 8: `renderer: missing` fails sends too, so a role run can rehearse it."""
    sim.settings(renderer="missing")
    sent = sim.send("1")
    assert sent.status_code == 500 and "rendering plugin not available" in sent.json()["message"]
    assert sim.outbox() == [] and sim.stats()["sends"] == 0


def test_an_old_renderer_fails_pdfs_only_where_grafana_checks_its_version(sim):
    sim.settings(renderer_version="3.9.0")
    assert sim.send("1").status_code == 200  # 11.5 without newPDFRendering: the older PDF path
    sim.settings(new_pdf_rendering=True)
    assert settings_of(sim)["featureToggles"] == {"newPDFRendering": True}
    sent = sim.send("1")
    assert sent.status_code == 500 and "requires image renderer version: >= 3.10.0" in sent.json()["message"]
    sim.settings(renderer_version="3.10.0")
    assert sim.send("1").status_code == 200


def test_admin_settings_show_smtp_to_a_server_admin_only(sim):
    answer = sim.api("GET", "/api/admin/settings", "server-admin")
    assert answer.status_code == 200 and answer.json()["smtp"]["enabled"] == "true"
    sim.settings(smtp_enabled=False)
    assert sim.api("GET", "/api/admin/settings", "server-admin").json()["smtp"]["enabled"] == "false"
    # An organization's token: 403; scopes that leave [smtp] out: no smtp section.
    denied = sim.api("GET", "/api/admin/settings", "sender")
    assert denied.status_code == 403 and "settings:read" in denied.json()["message"]
    assert "smtp" not in sim.api("GET", "/api/admin/settings", "saml-reader").json()
    # A send with SMTP off fails as Grafana's notifications service does.
    sent = sim.send("1")
    assert sent.status_code == 500 and sent.json()["message"].startswith("SMTP not configured")


def test_a_licence_without_expiry_keeps_the_report_routes(sim):
    sim.settings(license_expiry_known=False)
    body = settings_of(sim)
    assert body["buildInfo"]["edition"] == "Enterprise" and body["licenseInfo"]["expiry"] == 0
    assert sim.api("GET", "/api/reports", "sender").status_code == 200 and sim.send("1").status_code == 200


def test_permissions_granted_late_count_after_reloadcache(sim):
    assert sim.send("1", token="granted-late").status_code == 403
    cached = sim.api("GET", "/api/access-control/user/permissions", "granted-late").json()
    assert "reports:send" not in cached
    fresh = sim.api("GET", "/api/access-control/user/permissions?reloadcache=true", "granted-late").json()
    assert fresh["reports:send"] == ["reports:*"]
    assert sim.send("1", token="granted-late").status_code == 200


def test_a_proxy_in_front_sets_server_and_its_own_date(sim):
    sim.settings(proxy_server="nginx/1.25.3", proxy_clock_offset_seconds=-90, clock_offset_seconds=0)
    answer = sim.api("GET", "/api/health")
    assert answer.headers["Server"] == "nginx/1.25.3"
    assert abs(email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp() - time.time() + 90) < 3


def test_dashboards_drop_defaults_on_a_grafana_12_read(sim):
    """frontend_defaults.go: style "dark", hideControls false, nulls and empty panel links and options are dropped."""
    sim.settings(dashboard_read_migrated=True)
    model = {"uid": "drop", "title": "Drop", "style": "dark", "hideControls": False, "gnetId": None, "refresh": "1m",
             "panels": [{"id": 1, "type": "text", "options": {}, "links": [], "transparent": False,
                         "gridPos": {"x": 0, "y": 0, "h": 8, "w": 12},
                         "fieldConfig": {"defaults": {"thresholds": {"steps": [{"color": "green", "value": None}]}},
                                         "overrides": []}}]}
    saved = sim.api("POST", "/api/dashboards/db", "dashboards", json={"dashboard": model, "overwrite": False})
    assert saved.status_code == 200, saved.text
    read = sim.api("GET", "/api/dashboards/uid/drop", "dashboards").json()["dashboard"]
    for dropped in ("style", "hideControls", "gnetId"):
        assert dropped not in read
    panel = read["panels"][0]
    assert "options" not in panel and "links" not in panel and "transparent" not in panel
    assert panel["gridPos"] == {"x": 0, "y": 0, "h": 8, "w": 12} and read["refresh"] == "1m"
    assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"] == [{"color": "green"}]
    sim.settings(dashboard_read_migrated=False)
    assert sim.api("GET", "/api/dashboards/uid/drop", "dashboards").json()["dashboard"]["style"] == "dark"
