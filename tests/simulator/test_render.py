# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering without sending: GET /api/reports/render/pdfs and /csvs (issue 19).

Sources (github.com/grafana/grafana, read through the search tool in 2026):
- public/api-enterprise-spec.json, operations renderReportPDFs and renderReportCSVs: query parameters
  (pdfs: dashboards, orientation, layout, title, scaleFactor, includeTables, all strings; csvs:
  dashboards, title), produces application/pdf and application/zip, answers 200/400/401/500 and for
  the CSVs also 204; "Available to all users and with a valid license" (no RBAC action).
- The reporting frontend: the format step's "Preview PDF" link adds pdfShowTemplateVariables and
  pdfCombineOneFile as "true" and includeTables "true" for pdf-tables-appendix, and sends each
  dashboard's timeRange as from.valueOf().toString() (relative "now-7d" or epoch milliseconds) and
  reportVariables as Record<string, string[]>; downloadCSV fetches render/csvs/ as a blob, warns
  "The report does not contain any dashboard with a table panel" on 204, and saves the blob as
  application/zip named "<title or report-csv>.zip". Both links end in a slash (render/pdfs/).
- pkg/services/rendering/interface.go: ErrRenderUnavailable "rendering plugin not available" and
  ErrTimeout "timeout error - you can set timeout in seconds with &timeout url parameter". The 500
  body that wraps them is inferred (the reporting handler is not public).
- pkg/api/dashboard.go: GET /api/dashboards/uid/{uid} answers 404 "Dashboard not found" and, without
  view access, 403 "Access denied to this dashboard".
Inferred (no public source): an unknown dashboard or an unparsable time range is a 400.
"""

import io
import json
import re
import time
import zipfile

import pytest

SLO = {"dashboard": {"uid": "slo-overview"}, "timeRange": {"from": "now-7d", "to": "now"},
       "reportVariables": {"env": ["prod"]}}


def pdf_pages(content):
    """The text lines of each page of a simulator PDF (uncompressed content streams)."""
    streams = re.findall(rb"stream\n(.*?)\nendstream", content, re.DOTALL)
    return [[line.decode("latin-1").replace("\\(", "(").replace("\\)", ")")
             for line in re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", stream)] for stream in streams]


def render(sim, kind="pdfs", token="sender", **params):
    params.setdefault("dashboards", json.dumps([SLO]))
    return sim.api("GET", f"/api/reports/render/{kind}", token, params=params)


def test_pdf_names_dashboard_time_range_and_variables(sim):
    answer = render(sim, title="Last month", orientation="portrait", layout="simple", scaleFactor="3",
                    includeTables="true", pdfShowTemplateVariables="true",
                    dashboards=json.dumps([dict(SLO, timeRange={"from": "now-30d", "to": "now"},
                                                reportVariables={"env": ["prod", "dr"]}),
                                           {"dashboard": {"uid": "capacity"}}]))
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-") and b"/Count 2" in answer.content
    first, second = pdf_pages(answer.content)
    assert "Report: Last month" in first
    assert "Dashboard: SLOs (uid slo-overview)" in first
    assert "Time range: now-30d to now" in first
    assert "Variable env = prod,dr" in first
    assert "Orientation: portrait, layout: simple, scale factor: 3" in first
    assert "Include tables: True, show variables: True" in first
    assert "Time range: dashboard default to dashboard default" in second
    assert sim.stats()["renders"] == 1 and sim.stats()["sends"] == 0 and sim.outbox() == []


def test_defaults_trailing_slash_and_string_variables(sim):
    # The frontend's links end in a slash; Grafana's docs show variable values as plain strings.
    answer = sim.api("GET", "/api/reports/render/pdfs/", "sender", params={
        "dashboards": json.dumps([dict(SLO, reportVariables={"env": "staging"}, timeRange={"from": "1700000000000", "to": "now/d"})])})
    assert answer.status_code == 200, answer.text
    page, = pdf_pages(answer.content)
    assert "Variable env = staging" in page and "Time range: 1700000000000 to now/d" in page
    assert "Orientation: landscape, layout: grid, scale factor: 2" in page


@pytest.mark.parametrize("params, message", [
    ({"dashboards": "not json"}, "not JSON"),
    ({"dashboards": "[]"}, "at least one dashboard"),
    ({"dashboards": json.dumps([{"dashboard": {}}])}, "uid"),
    ({"dashboards": json.dumps([dict(SLO, timeRange={"from": "now-7x", "to": "now"})])}, "time range from"),
    ({"dashboards": json.dumps([{"dashboard": {"uid": "no-such"}}])}, "no-such not found"),
    ({"orientation": "sideways"}, "orientation"),
    ({"layout": "grid2"}, "layout"),
    ({"scaleFactor": "big"}, "scaleFactor"),
    ({"includeTables": "yes"}, "includeTables"),
])
def test_bad_parameters_are_400(sim, params, message):
    answer = render(sim, **params)
    assert answer.status_code == 400
    assert message in answer.json()["message"]
    assert sim.stats()["renders"] == 0


def test_needs_authentication_and_dashboard_access(sim):
    assert sim.api("GET", "/api/reports/render/pdfs", params={"dashboards": json.dumps([SLO])}).status_code == 401
    # No RBAC action is needed (spec: "Available to all users"), but each dashboard must be viewable.
    assert render(sim, token="readonly").status_code == 200
    denied = render(sim, token="slo-only", dashboards=json.dumps([{"dashboard": {"uid": "capacity"}}]))
    assert denied.status_code == 403 and denied.json()["message"] == "Access denied to this dashboard"


def test_csv_is_a_zip_and_204_without_tables(sim):
    answer = render(sim, kind="csvs", title="Capacity")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert archive.namelist() == ["Capacity-slo-overview.csv"]
        assert "now-7d" in archive.read("Capacity-slo-overview.csv").decode()
    sim.settings(csv_tables=False)
    empty = render(sim, kind="csvs")
    assert empty.status_code == 204 and empty.content == b""


def test_renderer_missing_and_timeout(sim):
    sim.settings(renderer="missing")
    missing = render(sim)
    assert missing.status_code == 500 and "rendering plugin not available" in missing.json()["message"]
    sim.settings(renderer="available", render_seconds=5, rendering_timeout_seconds=0.3)
    started = time.monotonic()
    timed_out = render(sim)
    assert timed_out.status_code == 500 and "timeout error" in timed_out.json()["message"]
    assert time.monotonic() - started < 3
    assert sim.stats()["renders"] == 0


def test_render_delay(sim):
    sim.settings(render_seconds=0.5)
    started = time.monotonic()
    assert render(sim).status_code == 200
    assert time.monotonic() - started >= 0.5


def test_dashboard_lookup(sim):
    found = sim.api("GET", "/api/dashboards/uid/slo-overview", "sender")
    assert found.status_code == 200 and found.json()["dashboard"]["title"] == "SLOs"
    missing = sim.api("GET", "/api/dashboards/uid/no-such", "sender")
    assert missing.status_code == 404 and missing.json()["message"] == "Dashboard not found"
    assert sim.api("GET", "/api/dashboards/uid/capacity", "slo-only").status_code == 403


def test_dashboards_are_grafanas_not_those_a_report_names(sim):
    # The dashboards are those Grafana has (the configured reports' and those saved through
    # POST /api/dashboards/db), not echoed from a report body: a report naming an unknown uid adds none.
    body = {"name": "Echo", "dashboards": [{"dashboard": {"uid": "made-up", "name": "Made up"}}]}
    assert sim.api("POST", "/api/reports", "admin", json=body).status_code == 200
    assert sim.api("GET", "/api/dashboards/uid/made-up", "sender").status_code == 404
    assert render(sim, dashboards=json.dumps([{"dashboard": {"uid": "made-up"}}])).status_code == 400
    saved = {"dashboard": {"uid": "saved-one", "title": "Saved one"}, "overwrite": False}
    assert sim.api("POST", "/api/dashboards/db", "dashboards", json=saved).status_code == 200
    answer = sim.api("GET", "/api/reports/render/pdfs", "dashboards",
                     params={"dashboards": json.dumps([{"dashboard": {"uid": "saved-one"}}])})
    assert answer.status_code == 200 and "Dashboard: Saved one (uid saved-one)" in pdf_pages(answer.content)[0]
