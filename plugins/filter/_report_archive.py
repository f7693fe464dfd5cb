# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: the archive of the role report_delivery's entry point main,
# which calls these filters. Not a public API, may change without notice.

"""Where the role keeps the reports it sent (<dir>/<environment>/<delivery>/<timestamp>.pdf), which
old ones it removes, and the summary lines that name the files."""

from __future__ import annotations

import datetime
import os
import posixpath
import re

from ansible.errors import AnsibleFilterError

# A run's files are named by its UTC start, so that names sort as times do and a glance tells when.
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
ARCHIVE_FILE = re.compile(r"^[0-9]{8}T[0-9]{6}Z\.pdf$")
# An environment's inventory name becomes a folder: it must not climb out of the archive.
_SAFE_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _timestamp(now):
    if isinstance(now, datetime.datetime):
        moment = now if now.tzinfo is None else now.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return moment.strftime(TIMESTAMP_FORMAT)
    raise AnsibleFilterError("_report_delivery_archive_plan: now must be a date and time, such as now(utc=true), got %r." % (now,))


def report_delivery_archive_plan(run, archive_dir, environment, now):
    """The sent deliveries of one environment's grafana_report_deliver run, each with the file to render to:
    [{name, report_id, folder, dest}]. Deliveries that were skipped, checked (check mode) or failed are not kept."""
    if not archive_dir:
        return []
    if not _SAFE_FOLDER.match(environment or "") or environment in (".", ".."):
        raise AnsibleFilterError("report_delivery_archive_dir: environment %r cannot be a folder name; name the inventory host "
                                 "with letters, digits, '.', '_' or '-'." % (environment,))
    stamp = _timestamp(now)
    plan = []
    for record in (run or {}).get("deliveries") or []:
        if record.get("outcome") != "sent":
            continue
        # Delivery names are checked to a safe alphabet (_delivery.checked_name) before any send.
        folder = os.path.join(archive_dir, environment, record["name"])
        plan.append(dict(name=record["name"], report_id=record["report_id"], folder=folder,
                         dest=os.path.join(folder, stamp + ".pdf")))
    return plan


def report_delivery_archive_prune(found, keep):
    """The archived files to remove: in each delivery's folder, all but the `keep` newest (0 keeps all).
    `found` is what ansible.builtin.find registered; only files named like the archive's are counted."""
    keep = int(keep)
    if keep < 1:
        return []
    by_folder = {}
    for item in (found or {}).get("files") or []:
        path = item["path"]
        if ARCHIVE_FILE.match(posixpath.basename(path)):
            by_folder.setdefault(posixpath.dirname(path), []).append(path)
    removed = []
    for folder in sorted(by_folder):
        removed.extend(sorted(by_folder[folder], reverse=True)[keep:])
    return sorted(removed)


def report_delivery_archive_summary(hosts, hostvars):
    """One line per archived report: environment, delivery, file, pages and size; or why it was not kept."""
    lines = []
    for host in hosts:
        rendered = hostvars[host].get("_report_delivery_archived") or {}
        for result in rendered.get("results") or []:
            item = result.get("item") or {}
            if result.get("failed"):
                lines.append("%s: %s not archived: %s" % (host, item.get("name"), result.get("msg")))
            elif not result.get("skipped"):
                lines.append("%s: %s -> %s (%s pages, %d bytes)"
                             % (host, item.get("name"), result.get("dest"), result.get("pages") or "?", result.get("size") or 0))
    return lines


class FilterModule(object):
    """Internal filters of the role report_delivery's archive."""

    def filters(self):
        return {
            "_report_delivery_archive_plan": report_delivery_archive_plan,
            "_report_delivery_archive_prune": report_delivery_archive_prune,
            "_report_delivery_archive_summary": report_delivery_archive_summary,
        }
