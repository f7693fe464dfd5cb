# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils._render import (
    RenderError,
    checked_mode,
    checked_render,
    dashboard_items,
    grafana_time,
    pdf_pages,
    render_query,
    report_variables,
)

REPORT = {"id": 3, "name": "Weekly SLO", "scaleFactor": 3, "formats": ["pdf", "pdf-tables-appendix"],
          "options": {"orientation": "portrait", "layout": "simple", "pdfShowTemplateVariables": True, "pdfCombineOneFile": False},
          "dashboards": [{"dashboard": {"id": 1, "uid": "slo", "name": "SLOs"}, "timeRange": {"from": "now-7d", "to": "now"},
                          "reportVariables": {"env": "prod", "region": ["eu", "us"]}, "unknownField": 1}]}


def params(tmp_path, **overrides):
    base = dict(report=None, report_id=None, dashboards=None, time_range=None, variables=None, format="pdf", orientation=None,
                layout=None, scale_factor=None, include_tables=None, title=None, dest=str(tmp_path / "r.pdf"), mode=None)
    base.update(overrides)
    return base


def test_report_variables_strings_and_lists_become_lists():
    assert report_variables({"a": "x", "b": ["y", "z"], "c": []}) == {"a": ["x"], "b": ["y", "z"], "c": []}
    assert report_variables(None) == {}


def test_saved_report_round_trips_its_dashboards_with_overrides(tmp_path):
    plan = checked_render(params(tmp_path, report_id="3", time_range={"from": "now-30d", "to": "now"}, variables={"env": ["dr"]}))
    items = dashboard_items(plan, REPORT)
    assert items == [{"dashboard": {"id": 1, "uid": "slo", "name": "SLOs"}, "timeRange": {"from": "now-30d", "to": "now"},
                      "reportVariables": {"env": ["dr"], "region": ["eu", "us"]}, "unknownField": 1}]
    assert REPORT["dashboards"][0]["reportVariables"]["env"] == "prod"
    query = dict(render_query(plan, items, REPORT))
    assert json.loads(query["dashboards"]) == items
    assert query["title"] == "Weekly SLO" and query["orientation"] == "portrait" and query["layout"] == "simple"
    assert query["scaleFactor"] == "3" and query["includeTables"] == "true" and query["pdfShowTemplateVariables"] == "true"
    assert "pdfCombineOneFile" not in query


def test_options_override_the_report_and_csv_sends_dashboards_and_title_only(tmp_path):
    plan = checked_render(params(tmp_path, report_id=3, orientation="landscape", scale_factor=1, include_tables=False, title="T"))
    query = dict(render_query(plan, dashboard_items(plan, REPORT), REPORT))
    assert query["orientation"] == "landscape" and query["scaleFactor"] == "1" and "includeTables" not in query and query["title"] == "T"
    csv = checked_render(params(tmp_path, report_id=3, format="csv"))
    assert [key for key, dummy in render_query(csv, dashboard_items(csv, REPORT), REPORT)] == ["dashboards", "title"]


def test_given_dashboards(tmp_path):
    plan = checked_render(params(tmp_path, dashboards=[{"uid": "a", "time_range": {"from": "2026-11-01", "to": "now"}, "variables": {"x": 1}},
                                                       {"uid": "b", "time_range": None, "variables": None}]))
    assert dashboard_items(plan) == [
        {"dashboard": {"uid": "a"}, "timeRange": {"from": "1793491200000", "to": "now"}, "reportVariables": {"x": ["1"]}},
        {"dashboard": {"uid": "b"}, "reportVariables": {}}]
    assert dict(render_query(plan, dashboard_items(plan))).keys() == {"dashboards"}


@pytest.mark.parametrize("value, sent", [("now-7d", "now-7d"), ("now-1M/M", "now-1M/M"), ("1700000000000", "1700000000000"),
                                         ("2026-11-01T01:00:00+01:00", "1793491200000"), ("", "")])
def test_grafana_time(value, sent):
    assert grafana_time(value, "f") == sent


@pytest.mark.parametrize("overrides, text", [
    (dict(report_id="x"), "report_id must be a positive integer"),
    (dict(report=" "), "report must be the name"),
    (dict(report_id=1, time_range={"from": "now-7x", "to": "now"}), "time_range.from must be a Grafana time"),
    (dict(report_id=1, time_range={"from": "", "to": ""}), "time_range needs from and to"),
    (dict(report_id=1, variables={"env": {"a": 1}}), "variables.env must be"),
    (dict(report_id=1, scale_factor=11), "scale_factor must be between 1 and 10"),
    (dict(report_id=1, format="csv", layout="grid", scale_factor=2), "layout, scale_factor apply to format=pdf only"),
    (dict(dashboards=[]), "dashboards must not be empty"),
    (dict(dashboards=[{"uid": " ", "time_range": None, "variables": None}]), "dashboards[0].uid"),
    (dict(report_id=1, mode="rw"), "mode must be"),
])
def test_invalid(tmp_path, overrides, text):
    with pytest.raises(RenderError) as caught:
        checked_render(params(tmp_path, **overrides))
    assert text in str(caught.value)


def test_dest_checks(tmp_path):
    with pytest.raises(RenderError, match="does not exist"):
        checked_render(params(tmp_path, report_id=1, dest=str(tmp_path / "missing" / "r.pdf")))
    with pytest.raises(RenderError, match="is a folder"):
        checked_render(params(tmp_path, report_id=1, dest=str(tmp_path)))


@pytest.mark.parametrize("mode, checked", [(None, None), (0o640, 0o640), ("0640", "0640"), ("640", "640"), ("u=rw,g=r", "u=rw,g=r")])
def test_modes(mode, checked):
    assert checked_mode(mode) == checked


def test_pdf_pages():
    assert pdf_pages(b"<< /Type /Pages /Count 2 >> << /Type /Page >> <</Type/Page/Parent 2 0 R>>") == 2
    assert pdf_pages(b"PK\x03\x04") is None
