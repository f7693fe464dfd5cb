# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A connection that is not `local` by name but runs on this machine: an environment reached through a jump host,
for the test of the role's per-host way (report_delivery_main)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: reportops_jump
short_description: Runs on this machine under another connection name (tests only)
description:
  - The C(local) connection under another name, standing for a jump host in the tests of reportops.grafana.
author: reportops.grafana contributors
"""

from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    transport = "reportops_jump"
