# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report definitions and settings as Grafana keeps them (issue 16), over real HTTP.

Sources: grafana/grafana docs/sources/developers/http_api/reporting.md ("the reporting docs"; its
examples are the files in fixtures/grafana_docs, see the README there), the Enterprise OpenAPI spec
public/api-enterprise-spec.json (CreateOrUpdateReport, ReportSettings), the reporting frontend
(types.ts: ReportDashboard.reportVariables is Record<string, string[]>; ReportsSettingsDrawer and its
test data for Grafana 13's settings) and grafana-reporting-api.md ("Fields by age"). "Inferred" marks
what no source states.
"""

import json
import os

import pytest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "grafana_docs")
SETTINGS_13 = ("pdfHeaderEnabled", "pdfTimeRangeEnabled", "pdfDashboardTitleEnabled", "footerFontFamily", "footerItems")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


def writes(sim):
    return sum(count for route, count in sim.stats()["by_route"].items() if route.split()[0] in ("POST", "PUT", "DELETE"))


@pytest.mark.parametrize("name", ["create_report.json", "update_report.json"])
def test_docs_request_examples_are_accepted_and_variables_kept_as_strings(sim, name):
    # The reporting docs' "Create a report" and "Update a report" requests send reportVariables values as strings.
    body = fixture(name)
    if name == "create_report.json":
        response = sim.api("POST", "/api/reports", "admin", json=body)
        report_id = response.json()["id"]
    else:
        report_id = 1
        response = sim.api("PUT", "/api/reports/1", "admin", json=body)
    assert response.status_code == 200, response.text
    stored = sim.api("GET", f"/api/reports/{report_id}", "admin").json()
    assert stored["dashboards"][0]["reportVariables"] == body["dashboards"][0]["reportVariables"]
    assert stored["name"] == body["name"] and stored["formats"] == ["pdf", "csv"]


def test_variables_as_lists_are_accepted_as_the_frontend_sends_them(sim):
    # Frontend types.ts: reportVariables?: Record<string, string[]>; the docs: a string. Both are stored as
    # sent: inferred from the docs' GET example, which answers the string form the create example sent.
    body = dict(fixture("create_report.json"), dashboards=[
        {"dashboard": {"uid": "a"}, "reportVariables": {"env": ["prod", "eu"], "namefilter": "TestData"}}])
    report_id = sim.api("POST", "/api/reports", "admin", json=body).json()["id"]
    stored = sim.api("GET", f"/api/reports/{report_id}", "admin").json()
    assert stored["dashboards"][0]["reportVariables"] == {"env": ["prod", "eu"], "namefilter": "TestData"}
    bad = dict(body, dashboards=[{"dashboard": {"uid": "a"}, "reportVariables": {"env": [1]}}])
    assert sim.api("POST", "/api/reports", "admin", json=bad).status_code == 400


def test_reply_to_is_a_comma_separated_list(sim):
    # The reporting docs' Config JSON Body Schema: replyTo is a "Comma-separated list of emails".
    body = dict(fixture("create_report.json"), replyTo="a@example.com,b@example.com")
    report_id = sim.api("POST", "/api/reports", "admin", json=body).json()["id"]
    assert sim.api("GET", f"/api/reports/{report_id}", "admin").json()["replyTo"] == "a@example.com,b@example.com"
    assert sim.api("POST", "/api/reports", "admin", json=dict(body, replyTo="a@example.com,nobody")).status_code == 400


def test_docs_settings_examples(sim):
    # The reporting docs' "Save reports branding settings" request, then "Get" answers its branding.
    assert sim.api("POST", "/api/reports/settings", "admin", json=fixture("save_settings.json")).json() == {"message": "Report settings saved"}
    answer = sim.api("GET", "/api/reports/settings", "admin").json()
    assert answer["branding"] == fixture("save_settings.json")["branding"]
    assert set(fixture("get_settings.json")) <= set(answer)


def test_grafana_13_settings_are_replaced_whole_by_a_post(simulator):
    sim = simulator(config={"version": "13.0.0"})
    # An org that never saved settings: Grafana 13's five fields, as the frontend's test data (mockSettingsData)
    # shows them; that the server starts from those values is inferred.
    first = sim.api("GET", "/api/reports/settings", "admin").json()
    assert {key: first[key] for key in SETTINGS_13} == {key: fixture("settings_grafana13.json")[key] for key in SETTINGS_13}
    saved = dict(fixture("settings_grafana13.json"), footerFontFamily="Inter", pdfTimeRangeEnabled=False)
    assert sim.api("POST", "/api/reports/settings", "admin", json=saved).status_code == 200
    answer = sim.api("GET", "/api/reports/settings", "admin").json()
    assert (answer["footerFontFamily"], answer["pdfTimeRangeEnabled"], answer["footerItems"]) == ("Inter", False, saved["footerItems"])
    # The POST replaces the object: what it leaves out is reset (Go's zero values, inferred).
    assert sim.api("POST", "/api/reports/settings", "admin", json={"branding": saved["branding"]}).status_code == 200
    answer = sim.api("GET", "/api/reports/settings", "admin").json()
    assert {key: answer[key] for key in SETTINGS_13} == {"pdfHeaderEnabled": False, "pdfTimeRangeEnabled": False,
                                                         "pdfDashboardTitleEnabled": False, "footerFontFamily": "",
                                                         "footerItems": None}
    assert sim.api("POST", "/api/reports/settings", "admin", json=dict(saved, pdfHeaderEnabled="yes")).status_code == 400


def test_grafana_before_13_has_no_such_settings(sim):
    # Default version 11.5.0: the five fields came with Grafana 13's ReportSettings.
    assert sim.api("POST", "/api/reports/settings", "admin", json=fixture("settings_grafana13.json")).status_code == 200
    assert not set(SETTINGS_13) & set(sim.api("GET", "/api/reports/settings", "admin").json())


@pytest.mark.parametrize("version, kept", [
    ("13.0.0", {"subject": "S", "pdfShowTemplateVariables": True, "pdfCombineOneFile": True, "formats": ["pdf", "pdf-tables"]}),
    ("11.0.0", {"subject": "S", "pdfShowTemplateVariables": None, "pdfCombineOneFile": None, "formats": ["pdf", "pdf-tables"]}),
    ("10.2.0", {"subject": "", "pdfShowTemplateVariables": None, "pdfCombineOneFile": None, "formats": ["pdf"]}),
])
def test_an_older_grafana_drops_the_fields_it_does_not_know(simulator, version, kept):
    # grafana-reporting-api.md, "Fields by age": subject around 11/12 (11.0 inferred), the two PDF options
    # late 2024 (11.3 inferred), pdf-tables formats with the pdfTables toggle (10.3+). Go's JSON decoding
    # drops unknown fields without an error. Inferred: that a Grafana without the toggle drops a pdf-tables
    # format value rather than refusing it (no source says which).
    sim = simulator(config={"version": version})
    assert sim.api("GET", "/api/health").json()["version"] == version
    body = dict(fixture("create_report.json"), subject="S", formats=["pdf", "pdf-tables"],
                options={"orientation": "landscape", "layout": "grid", "pdfShowTemplateVariables": True, "pdfCombineOneFile": True})
    response = sim.api("POST", "/api/reports", "admin", json=body)
    assert response.status_code == 200
    stored = sim.api("GET", f"/api/reports/{response.json()['id']}", "admin").json()
    assert {"subject": stored["subject"], "pdfShowTemplateVariables": stored["options"].get("pdfShowTemplateVariables"),
            "pdfCombineOneFile": stored["options"].get("pdfCombineOneFile"), "formats": stored["formats"]} == kept


def test_docs_get_report_example_is_served_as_documented(simulator):
    # A report made in the UI, as the reporting docs' "Get a report" answers it, loaded into the simulator.
    report = fixture("get_report.json")
    sim = simulator(config={"reports": [report]})
    answer = sim.api("GET", "/api/reports/2", "admin").json()
    # Only the report-wide options.timeRange is added (the simulator's neutral default).
    assert {key: answer[key] for key in report if key != "options"} == {key: report[key] for key in report if key != "options"}
    assert dict(answer["options"], timeRange=None) == dict(report["options"], timeRange=None)
    assert answer["dashboards"][0]["reportVariables"] == {"namefilter": "TestData"}
    assert writes(sim) == 0
