# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import hashlib
import json
import os
import stat
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.reportops.grafana.plugins.modules.grafana_report_render import main

BASE = dict(url="http://grafana.test:3000", token="glsa_unit_test_token_value_0123456789")
REPORT = {"id": 3, "name": "Weekly SLO", "dashboards": [{"dashboard": {"uid": "slo"}, "reportVariables": {"env": "prod"}}]}
PDF = "%PDF-1.4\n1 0 obj << /Type /Pages /Count 1 >> 2 0 obj << /Type /Page >>\n%%EOF"
DASHBOARD = {"dashboard": {"uid": "slo", "title": "SLOs"}, "meta": {}}


def test_renders_writes_then_leaves_the_file(run_module, fetch, tmp_path):
    dest = str(tmp_path / "r.pdf")
    for dummy in range(2):
        # A name is resolved in the listing, then the report itself is read (the listing may leave fields out).
        fetch.reply(200, [{"id": 3, "name": "Weekly SLO"}]).reply(200, REPORT).reply(200, DASHBOARD).reply(
            200, PDF, headers={"Content-Type": "application/pdf"})
    first = run_module(main, dict(BASE, report="Weekly SLO", dest=dest, mode="0600"))
    assert not first.failed and first.result["changed"]
    assert first.result["pages"] == 1 and first.result["size"] == len(PDF)
    assert first.result["sha256"] == hashlib.sha256(PDF.encode()).hexdigest()
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert [call["url"].split("3000")[1] for call in fetch.calls[:2]] == ["/api/reports", "/api/reports/3"]
    render = fetch.calls[3]
    assert render["method"] == "GET" and "/api/reports/render/pdfs?" in render["url"] and "title=Weekly+SLO" in render["url"]
    assert "%22reportVariables%22%3A%7B%22env%22%3A%5B%22prod%22%5D" in render["url"]
    second = run_module(main, dict(BASE, report="Weekly SLO", dest=dest, mode="0600"))
    assert not second.failed and not second.result["changed"]
    assert os.listdir(str(tmp_path)) == ["r.pdf"]


def test_check_mode_reads_and_renders_nothing(run_module, fetch, tmp_path):
    fetch.reply(200, REPORT).reply(200, DASHBOARD)
    outcome = run_module(main, dict(BASE, report_id=3, dest=str(tmp_path / "r.pdf")), check_mode=True)
    assert outcome.result["changed"] and [call["url"].split("3000")[1] for call in fetch.calls] == ["/api/reports/3", "/api/dashboards/uid/slo"]
    assert not os.path.exists(str(tmp_path / "r.pdf"))


def test_csv_without_table_panels_and_a_wrong_content_type_fail(run_module, fetch, tmp_path):
    fetch.reply(200, DASHBOARD).reply(204, "")
    fetch.reply(200, DASHBOARD).reply(200, "<html></html>", headers={"Content-Type": "text/html"})
    args = dict(BASE, dashboards=[{"uid": "slo"}], format="csv", dest=str(tmp_path / "r.zip"))
    outcome = run_module(main, args)
    assert outcome.failed and "none of the dashboards has a table panel (HTTP 204)" in outcome.result["msg"]
    outcome = run_module(main, args)
    assert outcome.failed and "not application/zip" in outcome.result["msg"] and not os.path.exists(str(tmp_path / "r.zip"))


def test_renderer_missing(run_module, fetch, tmp_path):
    fetch.reply(200, DASHBOARD).reply(500, {"message": "Failed to render report: rendering plugin not available"})
    outcome = run_module(main, dict(BASE, dashboards=[{"uid": "slo"}], dest=str(tmp_path / "r.pdf")))
    assert outcome.failed and outcome.result["status"] == 500
    assert outcome.result["msg"].startswith("Grafana could not render the PDF of the dashboards (HTTP 500")
    assert "install the image renderer" in outcome.result["msg"]


@pytest.mark.parametrize("said, hint", [
    # pkg/services/rendering/capabilities.go (ErrInvalidPluginVersion), rendering.go (the PDFRendering capability),
    # http_mode.go (capitalised before Grafana 10).
    ("invalid plugin version", "the rendering service at [rendering] server_url never answered"),
    ("PdfRendering unsupported, requires image renderer version: >= 3.10.0", "the renderer is too old for PDFs"),
    ("Failed to send request to remote rendering service. dial tcp: connection refused",
     "the rendering service at [rendering] server_url did not answer Grafana"),
])
def test_renderer_silent_or_old(run_module, fetch, tmp_path, said, hint):
    fetch.reply(200, DASHBOARD).reply(500, {"message": "Failed to render report: %s" % said})
    outcome = run_module(main, dict(BASE, dashboards=[{"uid": "slo"}], dest=str(tmp_path / "r.pdf")))
    assert outcome.failed and hint in outcome.result["msg"]


def test_bad_input_makes_no_request(run_module, fetch, tmp_path):
    outcome = run_module(main, dict(BASE, report_id=3, time_range={"from": "now-7x", "to": "now"}, dest=str(tmp_path / "r.pdf")))
    assert outcome.failed and "time_range.from" in outcome.result["msg"] and fetch.calls == []


def test_other_renderer_failure_points_at_the_log(run_module, fetch, tmp_path):
    fetch.reply(200, DASHBOARD).reply(500, {"message": "Failed to render report: browser crashed"})
    outcome = run_module(main, dict(BASE, dashboards=[{"uid": "slo"}], dest=str(tmp_path / "r.pdf")))
    assert outcome.result["msg"] == ("Grafana could not render the PDF of the dashboards (HTTP 500: Failed to render report: "
                                     "browser crashed); see the Grafana server log for the renderer's error.")


def test_an_empty_saved_range_becomes_the_dashboards_own_or_the_frontends_default(run_module, fetch, tmp_path):
    report = dict(REPORT, dashboards=[{"dashboard": {"uid": "slo"}, "timeRange": {"from": "", "to": ""}},
                                      {"dashboard": {"uid": "other"}, "timeRange": {"from": "", "to": ""}}])
    fetch.reply(200, report).reply(200, {"dashboard": {"uid": "other", "time": {"from": "now-2d", "to": "now"}}})
    fetch.reply(200, DASHBOARD).reply(200, PDF, headers={"Content-Type": "application/pdf"})
    outcome = run_module(main, dict(BASE, report_id=3, dest=str(tmp_path / "r.pdf")))
    assert not outcome.failed
    query = parse_qs(urlsplit(fetch.calls[-1]["url"]).query)
    ranges = dict((item["dashboard"]["uid"], item["timeRange"]) for item in json.loads(query["dashboards"][0]))
    assert ranges == {"slo": {"from": "now-6h", "to": "now"}, "other": {"from": "now-2d", "to": "now"}}
    # pdfCombineOneFile as saved (not at all), as the frontend's Preview PDF sends it.
    assert "pdfCombineOneFile" not in query


def test_an_answer_of_another_type_says_its_type_and_size_and_is_kept(run_module, fetch, tmp_path):
    dest = str(tmp_path / "r.pdf")
    fetch.reply(200, DASHBOARD).reply(200, "PK\x03\x04zipped", headers={"Content-Type": "application/zip"})
    outcome = run_module(main, dict(BASE, dashboards=[{"uid": "slo"}], dest=dest))
    assert outcome.failed and "Content-Type 'application/zip' (10 bytes), not application/pdf" in outcome.result["msg"]
    assert "kept as %s.zip" % dest in outcome.result["msg"] and "pdf_combine_one_file" not in outcome.result["msg"]
    assert os.path.exists(dest + ".zip") and not os.path.exists(dest)


def test_a_failing_move_leaves_through_the_one_exit_with_the_result(run_module, fetch, tmp_path, monkeypatch):
    from ansible.module_utils import basic

    def atomic_move(self, src, dest, unsafe_writes=False, keep_dest_attrs=True):
        self.fail_json(msg="Could not replace file: %s to %s" % (src, dest))

    monkeypatch.setattr(basic.AnsibleModule, "atomic_move", atomic_move)
    fetch.reply(200, DASHBOARD).reply(200, PDF, headers={"Content-Type": "application/pdf"})
    outcome = run_module(main, dict(BASE, dashboards=[{"uid": "slo"}], dest=str(tmp_path / "r.pdf")))
    assert outcome.failed and outcome.result["msg"].startswith("Could not replace file")
    assert outcome.result["status"] == 200 and outcome.result["size"] == len(PDF) and not outcome.result["changed"]
    assert os.listdir(str(tmp_path)) == []
