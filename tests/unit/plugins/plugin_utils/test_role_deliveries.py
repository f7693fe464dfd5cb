# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's own keys of report_delivery_deliveries: every and grace (overdue, issue 34)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.plugin_utils._role_deliveries import selected_deliveries

BASE = dict(report_id=1, emails="a@example.com")


def test_every_and_grace_are_role_keys_the_modules_never_see():
    (options, delivery), = selected_deliveries([dict(BASE, name="w", every="7d", grace="1d")])
    assert options["every"] == "7d" and options["grace"] == "1d"
    assert "every" not in delivery and "grace" not in delivery


@pytest.mark.parametrize("extra, words", [
    (dict(every="weekly"), "Invalid report_delivery_deliveries: delivery 'w': every must be an interval such as 90s"),
    (dict(every="7d", schedule="0 6 * * *"), "delivery 'w': give every or schedule, not both"),
    (dict(grace="2h"), "delivery 'w': grace needs every or schedule"),
    (dict(schedule="0 6 * * *", grace="later"), "delivery 'w': grace must be an interval"),
    (dict(evry="7d"), "evry"),
])
def test_bad_every_or_grace_names_the_delivery(extra, words):
    with pytest.raises(AnsibleFilterError) as caught:
        selected_deliveries([dict(BASE, name="w", **extra)])
    assert words in str(caught.value)
