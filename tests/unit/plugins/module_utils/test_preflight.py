# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each pre-flight check's decision, from what Grafana answered.

Grafana's source of each (github.com/grafana/grafana, read through the search tool in 2026):
- renderer: pkg/services/rendering/rendering.go (IsAvailable is remoteAvailable, RendererServerUrl != "", or the
  plugin before 13; Version() is what the service answered on /version, fetched in the background; the capability
  PDFRendering ">= 3.10.0", checked before a PDF in render(), behind the newPDFRendering toggle before 13) and
  capabilities.go (an unreadable version is ErrInvalidPluginVersion); pkg/api/frontendsettings.go (featureToggles are
  the enabled toggles, rendererAvailable IsAvailable, rendererVersion Version).
- smtp: pkg/services/notifications (ErrSmtpNotEnabled, "SMTP not configured, check your grafana.ini config file's
  [smtp] section"); pkg/api/api.go (GET /api/admin/settings needs settings:read) and pkg/api/admin.go
  (AdminGetSettings answers only the sections the caller's scopes cover, 403 otherwise).
- permissions: pkg/services/accesscontrol/api/api.go (getUserPermissions reads ?reloadcache).
"""

from __future__ import annotations

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils._delivery import Delivery, checked_deliveries
from ansible_collections.reportops.grafana.plugins.module_utils._preflight import (
    PREFLIGHT_ARGUMENT_SPEC,
    PreflightError,
    checked_params,
    ROUTES_ANSWER,
    ROUTES_REFUSE,
    clock_check,
    dashboard_needs,
    edition_check,
    failure,
    grafana_clock,
    grafana_facts,
    licence_check,
    permission_check,
    proxy_of,
    renderer_check,
    reporting_check,
    run_uses,
    scope_covers,
    semantic_version,
    smtp_check,
)
from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError

NOW = 1767225600  # 2026-01-01T00:00:00Z
ENTERPRISE = {"buildInfo": {"version": "11.5.0", "edition": "Enterprise"}, "licenseInfo": {"expiry": NOW + 90 * 86400},
              "rendererAvailable": True, "rendererVersion": "4.0.0", "reporting": {"enabled": True}}


def settings(**changes):
    result = dict(ENTERPRISE)
    for key, value in changes.items():
        result[key] = dict(result.get(key) or {}, **value) if isinstance(value, dict) else value
    return result


def params(**changes):
    result = dict((name, spec.get("default")) for name, spec in PREFLIGHT_ARGUMENT_SPEC.items())
    result.update(dict(deliveries=[]), **changes)
    return result


def delivery(**options):
    base = dict(name="d", report=None, report_id=None, emails=None, use_emails_from_report=True, delivery_key=None,
                min_interval=None)
    base.update(options)
    return base


def test_edition():
    assert edition_check(ENTERPRISE)["status"] == "ok"
    oss = edition_check(settings(buildInfo={"edition": "Open Source"}))
    assert oss["status"] == "fail" and "reports need Grafana Enterprise" in oss["message"]
    assert edition_check(settings(buildInfo={"edition": ""}))["status"] == "warn"


@pytest.mark.parametrize("licence, routes, status, said", [
    ({"expiry": NOW + 90 * 86400}, None, "ok", "Licensed until 2026-04-01"),
    ({"expiry": NOW + 5 * 86400}, None, "warn", "expires on 2026-01-06T00:00:00Z, in 5 days"),
    ({"expiry": NOW - 1}, None, "fail", "expired on 2025-12-31T23:59:59Z"),
    # Expired fails whatever the report routes say.
    ({"expiry": NOW - 1}, ROUTES_ANSWER, "fail", "expired on"),
    # No expiry (a hosted Grafana may answer so): the report routes decide (issue 32, point 4).
    ({"expiry": 0}, ROUTES_ANSWER, "warn", "its report routes answer (GET /api/reports), so reports can be sent today"),
    ({"expiry": 0}, ROUTES_REFUSE, "fail", "its report routes refuse (GET /api/reports: HTTP 404)"),
    ({"expiry": 0}, None, "warn", "whether its report routes answer could not be told"),
    ({"expiry": NOW + 90 * 86400, "hasLicense": False}, ROUTES_ANSWER, "warn", "it has no licence (licenseInfo.hasLicense"),
    ({"expiry": NOW + 90 * 86400, "hasLicense": False}, ROUTES_REFUSE, "fail", "refuse"),
])
def test_licence(licence, routes, status, said):
    result = licence_check(settings(licenseInfo=dict({"hasLicense": True}, **licence)), NOW, routes,
                           "HTTP 404" if routes == ROUTES_REFUSE else "")
    assert result["status"] == status and said in result["message"], result


def test_licence_of_an_oss_build_is_not_checked():
    assert licence_check(settings(buildInfo={"edition": "Open Source"}, licenseInfo={"expiry": 0}), NOW)["status"] == "skipped"


def test_reporting():
    assert reporting_check(ENTERPRISE)["status"] == "ok"
    disabled = reporting_check(settings(reporting={"enabled": False}))
    assert disabled["status"] == "fail" and "[reporting] enabled = true" in disabled["message"]
    unknown = dict(ENTERPRISE)
    del unknown["reporting"]
    assert reporting_check(unknown)["status"] == "skipped"


def test_renderer_missing_names_the_rendering_service_on_grafana_12_and_13():
    missing_13 = renderer_check(settings(rendererAvailable=False, buildInfo={"version": "13.0.1"}), True)
    assert missing_13["status"] == "fail" and "Grafana 13 removed the image renderer plugin" in missing_13["message"]
    assert "[rendering] server_url" in missing_13["message"]
    missing_12 = renderer_check(settings(rendererAvailable=False, buildInfo={"version": "12.2.0"}), True)["message"]
    assert "run the rendering service" in missing_12 and "deprecated in Grafana 12" in missing_12
    assert "install the grafana-image-renderer plugin" not in missing_12
    missing_11 = renderer_check(settings(rendererAvailable=False), True)
    assert "install the grafana-image-renderer plugin" in missing_11["message"]
    # Nothing sent or rendered: a warning only.
    assert renderer_check(settings(rendererAvailable=False), False)["status"] == "warn"


def test_renderer_configured_but_silent_fails():
    """rendererAvailable is true as soon as server_url is set; rendererVersion "" is a service that never answered."""
    silent = renderer_check(settings(rendererVersion=""), True)
    assert silent["status"] == "fail" and "never answered" in silent["message"] and "server_url" in silent["message"]
    assert renderer_check(settings(rendererVersion=None), False)["status"] == "warn"


@pytest.mark.parametrize("version, grafana, toggles, status", [
    ("4.0.0", "11.5.0", {}, "ok"), ("3.10.0", "13.0.0", {}, "ok"), ("v3.12", "12.1.0", {"newPDFRendering": True}, "ok"),
    ("3.9.1", "13.0.0", {}, "fail"), ("3.9.1", "12.1.0", {"newPDFRendering": True}, "fail"),
    # Before 13 without the toggle, Grafana renders PDFs the older way: a warning.
    ("3.9.1", "11.5.0", {}, "warn"), ("3.4.0", "12.0.0", {"other": True}, "warn"),
    ("dev-build", "11.5.0", {}, "fail"),
])
def test_renderer_version_is_held_to_grafanas_pdf_constraint(version, grafana, toggles, status):
    result = renderer_check(settings(rendererVersion=version, buildInfo={"version": grafana}, featureToggles=toggles), True)
    assert result["status"] == status, result
    if status != "ok":
        assert "3.10.0" in result["message"]


def test_semantic_version_reads_as_grafanas_semver_library():
    assert semantic_version("4.0.0") == (4, 0, 0) and semantic_version("v3.10") == (3, 10, 0)
    assert semantic_version("3.11.2-beta.1") == (3, 11, 2) and semantic_version("") is None
    assert semantic_version("latest") is None


@pytest.mark.parametrize("admin, error, sends, status, said", [
    ({"smtp": {"enabled": "true", "host": "mail:25"}}, None, True, "ok", "host mail:25"),
    ({"smtp": {"enabled": "false"}}, None, True, "fail", "SMTP not configured, check your grafana.ini"),
    ({"smtp": {"enabled": "false"}}, None, False, "warn", "[smtp] enabled = false"),
    # An organization's service account: 403, unknown, never a failure; how to verify it instead.
    (None, GrafanaError("Access to Grafana's server settings was denied", status=403), True, "skipped", "send_test_email"),
    (None, GrafanaError("Grafana or a proxy in front of it failed", status=502), True, "skipped", "failed"),
    # settings:read whose scopes leave [smtp] out.
    ({"auth.saml": {"enabled": "false"}}, None, True, "skipped", "did not show [smtp]"),
])
def test_smtp(admin, error, sends, status, said):
    result = smtp_check(admin, error, sends)
    assert result["name"] == "smtp" and result["status"] == status and said in result["message"], result


@pytest.mark.parametrize("skew, ledger, status", [
    (0, True, "ok"), (11, True, "ok"), (-11, False, "ok"), (12, True, "fail"), (120, False, "warn"), (-120, True, "fail"),
    (None, True, "skipped"),
])
def test_clock(skew, ledger, status):
    result = clock_check(skew, 10, ledger)
    assert result["status"] == status
    if status == "fail":
        assert "ledger: grafana" in result["message"] and ("ahead of" if skew > 0 else "behind") in result["message"]


def test_clock_names_a_proxy_whose_date_it_read():
    assert proxy_of({"server": "nginx/1.25.3"}) == "nginx/1.25.3 (its Server header)"
    assert proxy_of({"via": "1.1 varnish"}) == "a proxy (Via: 1.1 varnish)"
    assert proxy_of({"server": "grafana-sim"}) is None and proxy_of({}) is None
    behind = clock_check(0, 10, True, proxy_of({"server": "nginx"}))
    assert behind["status"] == "ok" and "set by nginx (its Server header) in front of Grafana" in behind["message"]
    assert "a proxy's in front of it: nginx sets its own" in clock_check(0, 10, True)["message"]


def test_grafana_clock_reads_the_date_header():
    assert grafana_clock("Thu, 01 Jan 2026 00:00:00 GMT") == NOW
    assert grafana_clock(None) is None and grafana_clock("not a date") is None


@pytest.mark.parametrize("held, wanted, covers", [
    ("annotations:type:organization", "annotations:type:organization", True),
    ("annotations:*", "annotations:type:organization", True),
    ("annotations:type:*", "annotations:type:organization", True),
    ("*", "annotations:type:organization", True),
    ("annotations:type:dashboard", "annotations:type:organization", False),
    ("dashboards:*", "annotations:type:organization", False),
    ("", "annotations:type:organization", False),
])
def test_scope_covers(held, wanted, covers):
    assert scope_covers(held, wanted) is covers


def test_ledger_needs_organization_annotations():
    full = dict(("annotations:%s" % verb, ["annotations:type:*"]) for verb in ("read", "create", "write", "delete"))
    assert permission_check("ledger", full)["status"] == "ok"
    dashboard_only = dict(full, **{"annotations:read": ["annotations:type:dashboard", "dashboards:uid:x"]})
    result = permission_check("ledger", dashboard_only)
    assert result == dict(name="permissions:ledger", status="fail", message=(
        "The credentials lack annotations:read with scope annotations:type:organization (it holds annotations:type:dashboard,"
        " dashboards:uid:x only), which ledger: grafana needs: grant it to the service account (or user), for example"
        " through a role that has them."))
    without_delete = dict(full)
    del without_delete["annotations:delete"]
    assert "annotations:delete with scope annotations:type:organization," in permission_check("ledger", without_delete)["message"]


def test_history_needs_annotations_read_and_create_only():
    """History writes records (create) and reads them back (read); it never updates or deletes one."""
    read_create = {"annotations:read": ["annotations:type:organization"], "annotations:create": ["annotations:*"]}
    assert permission_check("history", read_create)["status"] == "ok"
    assert permission_check("ledger", read_create)["status"] == "fail"
    result = permission_check("history", {"annotations:read": ["annotations:type:organization"]})
    assert result["status"] == "fail" and "annotations:create" in result["message"] and "delete" not in result["message"]


@pytest.mark.parametrize("create, write", [("reports:create", "reports:write"), ("reports.admin:create", "reports.admin:write"),
                                           ("reports.admin:create", "reports:write")])
def test_definitions_accept_both_spellings(create, write):
    held = {"reports:read": ["reports:*"], create: ["reports:*"], write: ["reports:*"], "reports:delete": ["reports:*"]}
    assert permission_check("definitions", held)["status"] == "ok"


def test_definitions_name_both_spellings_when_missing():
    result = permission_check("definitions", {"reports:read": ["reports:*"], "reports:delete": ["reports:*"]})
    assert result["status"] == "fail"
    assert "reports:create or reports.admin:create; reports:write or reports.admin:write," in result["message"]


def test_send_names_settings_dashboard():
    assert permission_check("send", {"reports:send": ["reports:id:3"]})["status"] == "ok"
    names = permission_check("names", {"reports:send": ["reports:*"]})
    assert names["status"] == "fail" and names["message"].startswith("The credentials lack reports:read, which finding")
    assert "reports.settings:write" in permission_check("settings", {"reports.settings:read": [""]})["message"]


@pytest.mark.parametrize("exists, folder_given, folder_exists, asked", [
    # An installed dashboard in an existing folder: read both, write the dashboard; no folders:create.
    (True, True, True, ["dashboards:read", "folders:read", "dashboards:write"]),
    (False, True, False, ["dashboards:read", "folders:read", "folders:create", "dashboards:create"]),
    # At the root, nothing of folders; unknown dashboard (no uid given): both saves.
    (None, False, None, ["dashboards:read", "dashboards:create", "dashboards:write"]),
    (True, True, None, ["dashboards:read", "folders:read", "folders:create", "dashboards:write"]),
])
def test_dashboard_needs_what_the_module_does(exists, folder_given, folder_exists, asked):
    assert [actions[0] for actions, scope in dashboard_needs(exists, folder_given, folder_exists)] == asked


def test_dashboard_permission_check_asks_for_dashboards_read():
    held = {"dashboards:write": ["dashboards:*"], "folders:read": ["folders:*"]}
    result = permission_check("dashboard", held, dashboard_needs(True, True, True))
    assert result["status"] == "fail" and result["message"].startswith("The credentials lack dashboards:read,")
    held["dashboards:read"] = ["dashboards:*"]
    assert permission_check("dashboard", held, dashboard_needs(True, True, True))["status"] == "ok"


def test_uses_follow_the_run():
    deliveries = [Delivery.of(options) for options in checked_deliveries([delivery(name="a", report="Weekly SLO"),
                                                                          delivery(name="b", report_id=3)])]
    assert run_uses(deliveries, params()) == ["send", "names"]
    # The Grafana ledger is used only by deliveries with a delivery key or a minimum interval.
    assert "ledger" not in run_uses(deliveries, params(ledger="grafana"))
    keyed = [Delivery.of(options) for options in checked_deliveries([delivery(name="a", report_id=3, min_interval="1d")])]
    assert run_uses(keyed, params(ledger="grafana", history="grafana", features=["render", "dashboard"])) == [
        "send", "ledger", "history", "dashboard", "render"]
    assert run_uses([], params(ledger="grafana")) == ["ledger"]


def test_checked_params_use_the_delivery_checks():
    with pytest.raises(PreflightError, match="delivery 'a': report: set exactly one of report"):
        checked_params(params(deliveries=[delivery(name="a")]))
    with pytest.raises(PreflightError, match="max_clock_skew"):
        checked_params(params(max_clock_skew=-1))


def test_facts_and_failure():
    facts = grafana_facts(ENTERPRISE, 3)
    assert facts == dict(version="11.5.0", edition="Enterprise", licence_expiry="2026-04-01T00:00:00Z", licence_state=None,
                         renderer_available=True, renderer_version="4.0.0", reporting_enabled=True, clock_skew=3)
    checks = [dict(name="a", status="ok", message="fine"), dict(name="b", status="fail", message="Do this."),
              dict(name="c", status="warn", message="Maybe.")]
    assert failure(checks) == "1 of 3 checks failed: b: Do this."
    assert failure(checks[:1]) is None
    # Grafana that could not be read: its one check, said once (issue 31).
    assert failure([dict(name="connection", status="fail", message="Could not connect.")]) == (
        "Grafana could not be read, so nothing else was checked: Could not connect.")
