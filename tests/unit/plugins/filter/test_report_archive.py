# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.filter._report_archive import (
    report_delivery_archive_plan,
    report_delivery_archive_prune,
    report_delivery_archive_summary,
)

RUN = {"deliveries": [{"name": "weekly-slo", "report_id": "9", "outcome": "sent"},
                      {"name": "capacity", "report_id": "10", "outcome": "skipped"},
                      {"name": "exec", "report_id": "11", "outcome": "failed"}]}
NOW = datetime.datetime(2026, 12, 1, 7, 0, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))


def test_plan_keeps_only_what_was_sent_named_by_utc_time():
    assert report_delivery_archive_plan(RUN, "/srv/archive", "prod", NOW) == [
        {"name": "weekly-slo", "report_id": "9", "folder": "/srv/archive/prod/weekly-slo",
         "dest": "/srv/archive/prod/weekly-slo/20261201T060005Z.pdf"}]
    assert report_delivery_archive_plan(RUN, "", "prod", NOW) == []
    assert report_delivery_archive_plan({"failed": True, "msg": "x"}, "/a", "prod", NOW) == []


@pytest.mark.parametrize("environment", ["..", "../etc", "a/b", ""])
def test_plan_refuses_environments_that_are_not_folder_names(environment):
    with pytest.raises(AnsibleFilterError, match="cannot be a folder name"):
        report_delivery_archive_plan(RUN, "/srv/archive", environment, NOW)


def test_plan_needs_a_time():
    with pytest.raises(AnsibleFilterError, match="now must be a date and time"):
        report_delivery_archive_plan(RUN, "/srv/archive", "prod", "today")


def test_prune_keeps_the_newest_per_folder_and_only_archive_files():
    files = [{"path": "/a/prod/x/%s.pdf" % stamp} for stamp in ("20261201T060000Z", "20261130T060000Z", "20261129T060000Z")]
    files += [{"path": "/a/prod/y/20261101T000000Z.pdf"}, {"path": "/a/prod/x/notes.pdf"}, {"path": "/a/prod/x/report.txt"}]
    assert report_delivery_archive_prune({"files": files}, 2) == ["/a/prod/x/20261129T060000Z.pdf"]
    assert report_delivery_archive_prune({"files": files}, "1") == ["/a/prod/x/20261129T060000Z.pdf", "/a/prod/x/20261130T060000Z.pdf"]
    assert report_delivery_archive_prune({"files": files}, "0") == []
    assert report_delivery_archive_prune({"skipped": True}, 2) == []


def test_summary_names_files_and_failures():
    hostvars = {"prod": {"_report_delivery_archived": {"results": [
        {"item": {"name": "weekly-slo"}, "dest": "/a/prod/weekly-slo/20261201T060005Z.pdf", "pages": 2, "size": 1024},
        {"item": {"name": "capacity"}, "failed": True, "msg": "Grafana could not render ..."}]}},
        "dev": {}}
    assert report_delivery_archive_summary(["dev", "prod"], hostvars) == [
        "prod: weekly-slo -> /a/prod/weekly-slo/20261201T060005Z.pdf (2 pages, 1024 bytes)",
        "prod: capacity not archived: Grafana could not render ..."]
