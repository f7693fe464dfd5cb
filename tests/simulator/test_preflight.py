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
