# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import fcntl
import json
import os
import stat
import time

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils._ledger import (
    FileLedger,
    GrafanaLedger,
    LedgerError,
    default_ledger_path,
    delivery_id,
    parse_interval,
    skip_reason,
)


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("3600", 3600), (3600, 3600),
    ("1h30m", 5400), ("1H 30M", 5400), ("0s1m", 60),
])
def test_parse_interval(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "0s", "-5m", "5x", "m", "1.5h", "1h30", "30 minutes", "P1D", "5m-", "h1"])
def test_parse_interval_refuses(text):
    assert parse_interval(text) is None


def test_delivery_id_ignores_recipient_order_and_case_but_not_the_set():
    one = delivery_id("3", ["a@x.io", "B@x.io"])
    assert one == delivery_id("3", ["b@x.io", "A@X.io"])
    assert one != delivery_id("3", ["a@x.io"])
    assert one != delivery_id("4", ["a@x.io", "b@x.io"])
    assert one != delivery_id("3", ["a@x.io", "b@x.io"], scope="https://other|org=1")
    assert delivery_id("3", None) != delivery_id("3", [])


def test_delivery_key_names_the_delivery_whatever_the_report():
    assert delivery_id("3", ["a@x.io"], "weekly") == delivery_id("9", None, "weekly")
    assert delivery_id("3", ["a@x.io"], "weekly") != delivery_id("3", ["a@x.io"], "weekly", scope="prod")


def test_skip_reason():
    now = 1_800_000_000
    assert skip_reason(None, 60, None, now) is None
    assert "already sent" in skip_reason(now - 10**6, None, "k1", now)
    reason = skip_reason(now - 125, 3600, None, now)
    assert "2m 5s ago" in reason and "min_interval (3600s)" in reason
    assert skip_reason(now - 3600, 3600, "k1", now) is None


def test_default_path_follows_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_ledger_path() == str(tmp_path / "reportops-grafana" / "ledger.json")


def test_record_is_private_atomic_and_readable(tmp_path):
    ledger = FileLedger(str(tmp_path / "state" / "ledger.json"))
    ledger.prepare()
    assert ledger.last_sent("d1") is None
    before = time.time()
    ledger.record("d1", {"report_id": "3", "delivery_key": None}, time.time() + 5)
    ledger.record("d2", {"report_id": "4", "delivery_key": "k"}, time.time() + 5)
    assert before <= ledger.last_sent("d1") <= time.time()
    assert stat.S_IMODE(os.stat(ledger.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(ledger.directory).st_mode) == 0o700
    assert sorted(os.listdir(ledger.directory)) == ["ledger.json", "ledger.json.lock", "locks"]
    content = json.loads((tmp_path / "state" / "ledger.json").read_text())
    assert content["version"] == 1 and set(content["deliveries"]) == {"d1", "d2"}


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 1}', '{"version": 2, "deliveries": {}}',
                                     '{"version": 1, "deliveries": {"d1": {"sent_at": "yesterday"}}}'])
def test_corrupt_ledger_fails_naming_the_file_and_is_kept(tmp_path, content):
    path = tmp_path / "ledger.json"
    path.write_text(content)
    ledger = FileLedger(str(path))
    with pytest.raises(LedgerError) as raised:
        ledger.last_sent("d1")
    assert str(path) in str(raised.value) and "never reset" in str(raised.value)
    with pytest.raises(LedgerError):
        ledger.record("d1", {"report_id": "3"}, time.time() + 1)
    assert path.read_text() == content


def test_delivery_lock_wait_is_bounded(tmp_path):
    ledger = FileLedger(str(tmp_path / "ledger.json"))
    ledger.prepare()
    holder = os.open(os.path.join(ledger.lock_directory, "d1.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        started = time.time()
        with pytest.raises(LedgerError) as raised:
            with ledger.delivery_lock("d1", time.time() + 0.3):
                pass
        assert 0.25 <= time.time() - started < 2
        assert "locked by another run" in str(raised.value)
        with ledger.delivery_lock("d2", time.time() + 0.3):
            pass  # another delivery is not held up
    finally:
        os.close(holder)
    with ledger.delivery_lock("d1", time.time() + 0.3):
        pass


class FakeAnnotations:
    def __init__(self):
        self.created = []

    def find_annotations(self, tags, limit=1):
        found = [annotation for annotation in self.created if set(tags) <= set(annotation["tags"])]
        return sorted(found, key=lambda annotation: -annotation["time"])[:limit]

    def create_annotation(self, annotation):
        self.created.append(annotation)
        return {"id": len(self.created), "message": "Annotation added"}


def test_grafana_ledger_records_and_reads_back_annotations(tmp_path):
    client = FakeAnnotations()
    ledger = GrafanaLedger(client, FileLedger(str(tmp_path / "ledger.json")))
    delivery = delivery_id("3", None, "weekly-2026-W48")
    assert ledger.last_sent(delivery) is None
    ledger.record(delivery, {"report_id": "3", "delivery_key": "weekly-2026-W48"}, time.time() + 5)
    annotation = client.created[0]
    assert set(annotation["tags"]) == {"reportops.grafana", "delivery:" + delivery[:32], "report:3"}
    assert "weekly-2026-W48" in annotation["text"]
    assert abs(ledger.last_sent(delivery) - time.time()) < 5
    assert ledger.last_sent(delivery_id("3", None, "other")) is None
