# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
import time

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _ledger
from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaClient, GrafanaError
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import Delivery, deliver
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import parse_interval
from ansible_collections.reportops.grafana.plugins.module_utils._ledger import (
    CLOCK_SKEW,
    FileLedger,
    GrafanaLedger,
    LedgerError,
    claim_text,
    decide,
    default_ledger_path,
    delivery_id,
    judge,
    parse_claim,
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


# -- The Grafana ledger's claim protocol ------------------------------------------------------

NOW = 1_800_000_000_000  # Grafana's clock in the pure tests, ms
LEASE = 100


def annotation(annotation_id, state="claimed", created=NOW, runner=None, lease=LEASE, time_ms=None, updated=None, key="k"):
    """A ledger annotation as Grafana lists it; `time_ms` is the runner's clock, `created` Grafana's."""
    fields = dict(v=1, state=state, runner=runner or "runner-%d" % annotation_id, lease=lease, delivery_key=key)
    return {"id": annotation_id, "time": created if time_ms is None else time_ms, "timeEnd": created + lease * 1000,
            "created": created, "updated": created if updated is None else updated, "text": claim_text(fields),
            "tags": ["reportops.grafana", "delivery:abc"]}


def test_claim_text_is_readable_and_parses_back():
    text = annotation(4)["text"]
    assert text.splitlines()[0] == "reportops.grafana: delivery 'k' claimed by runner-4"
    claim = parse_claim(annotation(4, created=NOW + 5))
    assert (claim["id"], claim["state"], claim["runner"], claim["lease"], claim["created"]) == (4, "claimed", "runner-4", LEASE, NOW + 5)


@pytest.mark.parametrize("text", ["reportops.grafana sent report 3 (weekly)", '{"state": "claimed"}', '{"state": "claimed", "lease": -1}',
                                  '{"state": "dancing", "lease": 5}', "{not json"])
def test_records_before_the_protocol_and_unknown_texts_count_as_sends(text):
    claim = parse_claim({"id": 2, "time": NOW - 5000, "text": text})
    assert claim["state"] == "sent" and claim["updated"] == NOW - 5000


@pytest.mark.parametrize("order", [[1, 2, 3], [3, 2, 1], [2, 3, 1]])
def test_claims_tied_in_time_lowest_id_sends_whatever_the_listing_order(order):
    listing = [annotation(i) for i in order]  # same time, same created stamp
    assert decide(listing, 1, "k", None, 500).reason is None
    for loser in (2, 3):
        decision = decide(listing, loser, "k", None, 500)
        assert decision.problem is None
        assert decision.reason.startswith("another runner (runner-1) holds this delivery since 2027-01-15T08:00:00Z")


def test_runner_clocks_do_not_order_claims():
    # Runner 2's clock is 5 s behind, runner 3's 4 s ahead: the listing (newest time first) puts 3 first.
    listing = sorted([annotation(1, time_ms=NOW - 5000, created=NOW), annotation(3, time_ms=NOW + 4000, created=NOW + 300),
                      annotation(2, time_ms=NOW, created=NOW + 100)], key=lambda item: -item["time"])
    assert [item["id"] for item in listing] == [3, 2, 1]
    assert decide(listing, 1, "k", None, 500).reason is None
    assert "runner-1" in decide(listing, 3, "k", None, 500).reason


def test_grafana_instance_clocks_a_few_seconds_apart():
    # Claim 1 got a `created` 4 s ahead of claim 2's (HA instances): still live for runner 2, which skips.
    listing = [annotation(1, created=NOW + 4000), annotation(2, created=NOW)]
    assert "runner-1" in decide(listing, 2, "k", None, 500).reason
    # A claim just inside its lease plus the tolerated skew still holds; just past it, it is stale.
    inside = NOW - (LEASE + CLOCK_SKEW - 1) * 1000
    assert "runner-1" in decide([annotation(1, created=inside), annotation(2)], 2, "k", None, 500).reason
    lapsed = decide([annotation(1, created=inside - 2000), annotation(2)], 2, "k", None, 500)
    assert lapsed.reason is None and lapsed.stale == [1]


def test_a_failed_claim_that_may_have_sent_holds_until_its_lease_ends():
    held = decide([annotation(1, "failed", created=NOW - 30000), annotation(2)], 2, "k", None, 500).reason
    assert "may still have acted" in held and "held until 2027-01-15T08:01:20Z" in held
    after = decide([annotation(1, "failed", created=NOW - (LEASE + CLOCK_SKEW + 1) * 1000), annotation(2)], 2, "k", None, 500)
    assert after.reason is None and after.stale == [1]


def test_released_claims_do_not_count():
    decision = decide([annotation(1, "released"), annotation(2)], 2, "k", None, 500)
    assert decision.reason is None and decision.stale == [1]


def test_recorded_sends_decide_the_key_and_min_interval_on_grafanas_clock():
    sent = annotation(1, "sent", created=NOW - 3600_000, updated=NOW - 3500_000)
    older = annotation(0, "sent", created=NOW - 7200_000)
    once = decide([annotation(2), sent, older], 2, "k", None, 500)
    assert "delivery key 'k' was already sent at 2027-01-15T07:01:40Z" in once.reason and once.stale == [0] and once.record == 1
    # min_interval counts from the record's `updated` (Grafana's clock), not from the runner's `time`.
    assert "within min_interval (3600s)" in decide([annotation(2), sent], 2, "k", 3600, 500).reason
    again = decide([annotation(2), sent, older], 2, "k", 3500, 500)
    assert again.reason is None and again.record == 1 and again.stale == [0]


def test_own_claim_not_listed_fails_closed_naming_the_permission():
    # A token whose annotations:read is scoped to dashboards: Grafana answers 200 [] for organization annotations.
    decision = decide([], 7, "k", None, 500)
    assert "annotation 7" in decision.problem and "nothing was sent" in decision.problem
    assert "annotations:read with scope annotations:type:organization" in decision.problem


def test_a_listing_capped_by_limit_fails_closed():
    # Runner clocks ahead push 3 later claims before the live claim 1 (newest time first), and limit 3 cuts claim 1 off:
    # claim 4 would think it is the lowest. A full page is never trusted.
    everything = sorted([annotation(1, time_ms=NOW - 6000)] + [annotation(i, time_ms=NOW + i) for i in (2, 3, 4)],
                        key=lambda item: -item["time"])
    page = everything[:3]
    assert 1 not in [item["id"] for item in page] and 4 in [item["id"] for item in page]
    decision = decide(page, 4, "k", None, 3, "delivery:abc")
    assert "listed 3 annotations" in decision.problem and "delivery:abc" in decision.problem
    assert decide(everything, 4, "k", None, 5).reason.startswith("another runner (runner-1)")


def test_check_mode_judges_without_a_claim():
    assert judge([parse_claim(annotation(1))], NOW, "k", None)[0].startswith("another runner (runner-1)")
    assert judge([], NOW, "k", None)[0] is None


class FakeGrafana:
    """Grafana's annotation API in memory, as the protocol relies on it: ids from one sequence, `created`
    and `updated` from Grafana's clock, listings newest `time` first and cut at `limit`, 404 for a missing id.
    It stands in for GrafanaClient (its lease arithmetic is the client's own)."""

    longest_request = GrafanaClient.longest_request
    # The client's settings that longest_request reads: no render retries here.
    render_retries = 0
    render_backoff = 0

    def __init__(self, timeout=60):
        self.timeout = timeout
        self.clock = int(time.time() * 1000)
        self.annotations = {}
        self.next_id = 1
        self.requests = []
        self.lock = threading.Lock()
        self.organization_read = True   # False: annotations:read scoped to dashboards (200 [])
        self.uncommitted = {}           # id -> listings that do not show it yet
        self.barrier = None             # every claim waits here after its POST

    def create_annotation(self, body):
        with self.lock:
            annotation_id, self.next_id = self.next_id, self.next_id + 1
            self.annotations[annotation_id] = dict(body, id=annotation_id, created=self.clock, updated=self.clock)
            self.requests.append("POST")
        if self.barrier:
            self.barrier.wait(timeout=10)
        return {"id": annotation_id, "message": "Annotation added"}

    def find_annotations(self, tags, limit=1):
        with self.lock:
            self.requests.append("GET")
            found = [dict(item) for item in self.annotations.values() if set(tags) <= set(item["tags"])
                     and self.organization_read and not self.uncommitted.get(item["id"])]
            for annotation_id in self.uncommitted:
                self.uncommitted[annotation_id] -= 1
        return sorted(found, key=lambda item: (item["time"], item["id"]), reverse=True)[:limit]

    def update_annotation(self, annotation_id, fields):
        with self.lock:
            self.requests.append("PATCH")
            if annotation_id not in self.annotations:
                raise GrafanaError("annotation %d not found" % annotation_id, status=404)
            self.annotations[annotation_id].update(fields, updated=self.clock)

    def delete_annotation(self, annotation_id):
        with self.lock:
            self.requests.append("DELETE")
            if self.annotations.pop(annotation_id, None) is None:
                raise GrafanaError("annotation %d not found" % annotation_id, status=404)

    def states(self):
        return dict((annotation_id, parse_claim(item)["state"]) for annotation_id, item in self.annotations.items())


@pytest.fixture
def grafana(monkeypatch):
    monkeypatch.setattr(_ledger, "SETTLE_SECONDS", 0.01)
    return FakeGrafana()


def runner(grafana, tmp_path, name):
    """A runner on its own host: its own lock folder, the shared Grafana."""
    return GrafanaLedger(grafana, FileLedger(str(tmp_path / name / "ledger.json")), runner=name)


def run_once(ledger, outcome="sent", key="k", min_interval=None, retries=0, delivery="d" * 64):
    """One run through the ledger as _delivery.deliver drives it: (skip reason or None, failure note)."""
    ledger.prepare()
    with ledger.reserve(delivery, time.time() + 5, key, min_interval, retries) as reservation:
        if reservation.skip_reason:
            return reservation.skip_reason, None
        if outcome == "sent":
            reservation.sent({"report_id": "3", "delivery_key": key})
            return None, None
        if outcome == "killed":
            return None, None  # the runner dies: neither sent nor failed
        return None, reservation.failed(outcome == "may have acted")


def test_twelve_runners_that_claim_at_once_send_once(grafana, tmp_path):
    grafana.barrier = threading.Barrier(12)  # every claim exists before any runner lists them
    results = {}

    def work(index):
        results[index] = run_once(runner(grafana, tmp_path, "runner-%02d" % index))

    threads = [threading.Thread(target=work, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 12
    winners = [index for index, (reason, dummy) in results.items() if reason is None]
    assert len(winners) == 1
    assert all("another runner" in reason and "holds this delivery" in reason
               for reason, dummy in results.values() if reason is not None)
    # The losers released their claims; the winner's claim is the one record.
    assert list(grafana.states().values()) == ["sent"]
    grafana.barrier = None
    assert "already sent" in run_once(runner(grafana, tmp_path, "later"))[0]


def test_a_claim_committed_late_is_seen_by_the_settle_listing(grafana, tmp_path):
    # Claim 1 got its id first but is not listed yet when runner 2 first lists (its row not committed).
    other = grafana.create_annotation({"time": grafana.clock, "timeEnd": grafana.clock, "tags": GrafanaLedger.tags("d" * 64),
                                       "text": claim_text(dict(v=1, state="claimed", runner="slow", lease=100))})["id"]
    grafana.uncommitted[other] = 1
    reason, dummy = run_once(runner(grafana, tmp_path, "fast"))
    assert reason.startswith("another runner (slow) holds")
    assert grafana.requests == ["POST", "POST", "GET", "GET", "DELETE"] and list(grafana.states()) == [other]


def test_a_winner_costs_two_listings_a_claim_and_a_record(grafana, tmp_path):
    assert run_once(runner(grafana, tmp_path, "one")) == (None, None)
    assert grafana.requests == ["POST", "GET", "GET", "PATCH"]
    record = grafana.annotations[1]
    assert set(record["tags"]) == {"reportops.grafana", "delivery:" + "d" * 32, "report:3"}
    fields = json.loads(record["text"].splitlines()[1])
    assert fields["state"] == "sent" and fields["report_id"] == "3" and fields["runner"] == "one"
    # The lease: the send's longest time, from the client, plus the margins before and after it.
    assert fields["lease"] == grafana.longest_request(0) + _ledger.LEASE_BEFORE_SEND + _ledger.LEASE_AFTER_SEND == 80
    assert record["timeEnd"] - record["time"] < 5000  # the record spans the send, no longer the lease


def test_the_lease_grows_with_retries(grafana, tmp_path):
    run_once(runner(grafana, tmp_path, "one"), outcome="killed", retries=2)
    assert parse_claim(grafana.annotations[1])["lease"] == 60 * 3 + 30 * 2 + 20
    assert grafana.annotations[1]["timeEnd"] - grafana.annotations[1]["time"] == 260 * 1000


def test_unreadable_organization_annotations_send_nothing(grafana, tmp_path):
    grafana.organization_read = False
    with pytest.raises(LedgerError) as raised:
        run_once(runner(grafana, tmp_path, "blind"))
    assert "annotations:read with scope annotations:type:organization" in str(raised.value)
    assert grafana.annotations == {} and grafana.requests == ["POST", "GET", "DELETE"]


def test_a_killed_runner_holds_the_delivery_until_its_lease_lapses(grafana, tmp_path):
    run_once(runner(grafana, tmp_path, "killed"), outcome="killed")
    grafana.clock += (80 + CLOCK_SKEW - 1) * 1000
    assert "another runner (killed) holds" in run_once(runner(grafana, tmp_path, "early"))[0]
    grafana.clock += 2000
    assert run_once(runner(grafana, tmp_path, "late")) == (None, None)
    assert grafana.states() == {3: "sent"}  # the dead claim was deleted after the send


def test_a_failure_grafana_did_not_act_on_releases_the_claim(grafana, tmp_path):
    reason, note = run_once(runner(grafana, tmp_path, "first"), outcome="failed")
    assert reason is None and "released, so the next run sends it" in note and grafana.annotations == {}
    assert run_once(runner(grafana, tmp_path, "next")) == (None, None)


def test_a_failure_that_may_have_sent_holds_until_the_lease_ends(grafana, tmp_path):
    reason, note = run_once(runner(grafana, tmp_path, "first"), outcome="may have acted")
    assert "stays claimed in Grafana (annotation 1) until" in note and grafana.states() == {1: "failed"}
    assert "may still have acted" in run_once(runner(grafana, tmp_path, "soon"))[0]
    grafana.clock += (80 + CLOCK_SKEW + 1) * 1000
    assert run_once(runner(grafana, tmp_path, "later")) == (None, None)
    assert grafana.states() == {3: "sent"}


def test_annotations_per_delivery_stay_bounded(grafana, tmp_path):
    for index in range(5):
        assert run_once(runner(grafana, tmp_path, "run-%d" % index), min_interval=60) == (None, None)
        assert list(grafana.states().values()) == ["sent"]
        grafana.clock += 61_000
    assert "within min_interval" in run_once(runner(grafana, tmp_path, "soon"), min_interval=120)[0]


def test_a_full_listing_fails_closed_and_cleans_up(grafana, tmp_path, monkeypatch):
    monkeypatch.setattr(_ledger, "LISTING_LIMIT", 3)
    for index in range(3):  # three runners died holding their claims, long ago
        grafana.create_annotation({"time": grafana.clock, "timeEnd": grafana.clock, "tags": GrafanaLedger.tags("d" * 64),
                                   "text": claim_text(dict(v=1, state="claimed", runner="dead-%d" % index, lease=80))})
    grafana.clock += (80 + CLOCK_SKEW + 1) * 1000
    with pytest.raises(LedgerError) as raised:
        run_once(runner(grafana, tmp_path, "crowded"))
    assert "listed 3 annotations" in str(raised.value)
    assert list(grafana.annotations) == [1]  # the lapsed claims it saw and its own went
    assert run_once(runner(grafana, tmp_path, "after")) == (None, None)
    assert grafana.states() == {5: "sent"}


def test_peek_predicts_without_writing(grafana, tmp_path):
    ledger = runner(grafana, tmp_path, "checker")
    assert ledger.peek("d" * 64, "k", None) is None
    run_once(runner(grafana, tmp_path, "holder"), outcome="killed")
    assert "another runner (holder) holds" in ledger.peek("d" * 64, "k", None)
    grafana.requests = []
    ledger.peek("d" * 64, "k", None)
    assert grafana.requests == ["GET"]


# Through the real client, fetch_url scripted: the HTTP requests of one send and of a failed one.

def calls(fetch):
    return [(call["method"], call["url"].split("/api", 1)[1]) for call in fetch.calls]


@pytest.fixture
def connected(make_client, fetch, tmp_path, monkeypatch):
    monkeypatch.setattr(_ledger, "SETTLE_SECONDS", 0)
    client = make_client(url="http://grafana.test:3000", token="glsa_unit", timeout=60)
    return client, GrafanaLedger(client, FileLedger(str(tmp_path / "ledger.json")), runner="unit")


def listed(*claims):
    return [annotation(*claim) for claim in claims]


def test_one_send_through_the_api(connected, fetch):
    client, ledger = connected
    old = annotation(1, "sent", created=NOW - 86400_000)
    fetch.reply(200, {"id": 9, "message": "Annotation added"}).reply(200, [annotation(9), old]).reply(200, [annotation(9), old])
    fetch.reply(200, {"message": "Report was sent"}).reply(200, {"message": "Annotation patched"})
    fetch.reply(200, {"message": "Annotation deleted"})
    outcome = deliver(client, ledger, "", Delivery("3", ["a@example.com"], delivery_key="k", min_interval=3600), 1, False)
    assert outcome["status"] == "sent", outcome
    assert calls(fetch) == [
        ("POST", "/annotations"),
        ("GET", "/annotations?tags=reportops.grafana&tags=delivery%%3A%s&type=annotation&limit=500" % outcome_tag(outcome)),
        ("GET", "/annotations?tags=reportops.grafana&tags=delivery%%3A%s&type=annotation&limit=500" % outcome_tag(outcome)),
        ("POST", "/reports/email"), ("PATCH", "/annotations/9"), ("DELETE", "/annotations/1")]
    claim, record = fetch.bodies()[0], fetch.bodies()[4]
    assert json.loads(claim["text"].splitlines()[1])["lease"] == client.longest_request(1) + 20
    assert claim["timeEnd"] - claim["time"] == (client.longest_request(1) + 20) * 1000
    assert json.loads(record["text"].splitlines()[1])["state"] == "sent" and "report:3" in record["tags"]


def outcome_tag(outcome):
    return delivery_id("3", ["a@example.com"], "k", "")[:32]


@pytest.mark.parametrize("status, body, released", [
    (500, {"message": "Failed to send report"}, True),           # Grafana's own error: the report was not sent
    (504, "upstream request timeout", False),                     # a proxy gave up: Grafana may still send it
])
def test_a_failed_send_releases_or_holds_the_claim(connected, fetch, status, body, released):
    client, ledger = connected
    fetch.reply(200, {"id": 9}).reply(200, listed((9,))).reply(200, listed((9,))).reply(status, body)
    fetch.reply(200, {"message": "Annotation deleted" if released else "Annotation patched"})
    outcome = deliver(client, ledger, "", Delivery("3", ["a@example.com"], delivery_key="k"), 0, False)
    assert outcome["status"] == "failed" and not outcome["sent"]
    assert calls(fetch)[-1] == ("DELETE" if released else "PATCH", "/annotations/9")
    if released:
        assert outcome["message"].endswith("Its claim in the Grafana ledger was released, so the next run sends it.")
    else:
        assert "may still have sent report 3" in outcome["message"]
        assert "stays claimed in Grafana (annotation 9) until" in outcome["message"]
        assert json.loads(fetch.bodies()[-1]["text"].splitlines()[1])["state"] == "failed"


def test_a_token_without_annotations_create_sends_nothing(connected, fetch):
    client, ledger = connected
    fetch.reply(403, {"message": "You'll need additional permissions to perform this action. Permissions needed: annotations:create"})
    outcome = deliver(client, ledger, "", Delivery("3", ["a@example.com"], delivery_key="k"), 0, False)
    assert outcome["status"] == "failed" and outcome["attempts"] == 0 and len(fetch.calls) == 1
    assert "annotations:create (scope annotations:type:organization)" in outcome["message"]
