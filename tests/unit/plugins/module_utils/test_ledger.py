# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import fcntl
import json
import os
import re
import stat
import threading
import time

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _ledger
from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import claim_text, delivery_tags
from ansible_collections.reportops.grafana.plugins.module_utils._client import (
    NO_RETRIES,
    GrafanaClient,
    GrafanaError,
)
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import Delivery, deliver
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import parse_interval
from ansible_collections.reportops.grafana.plugins.module_utils._ledger import (
    CLOCK_SKEW,
    FileLedger,
    GrafanaLedger,
    LedgerError,
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


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 1}', '{"version": 3, "deliveries": {}}',
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
CLAIM_TAGS = ["reportops.grafana", "delivery:abc", "ledger:claim"]


def annotation(annotation_id, state="claimed", created=NOW, runner=None, lease=LEASE, time_ms=None, updated=None, key="k",
               tags=None):
    """A ledger annotation as Grafana lists it; `time_ms` is the runner's clock, `created` Grafana's."""
    fields = dict(v=1, state=state, runner=runner or "runner-%d" % annotation_id, lease=lease, delivery_key=key)
    start = created if time_ms is None else time_ms
    return {"id": annotation_id, "time": start, "timeEnd": _ledger.CLAIM_ORDER_MS - start,
            "created": created, "updated": created if updated is None else updated, "text": claim_text(fields),
            "tags": list(CLAIM_TAGS if tags is None else tags)}


def record(annotation_id, created=NOW - 3600_000, updated=None, tags=("reportops.grafana", "delivery:abc", "outcome:sent", "report:3")):
    return parse_claim(annotation(annotation_id, "sent", created=created, updated=updated, tags=list(tags)))


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
    assert decide([listing], [], 1, "k", None).reason is None
    for loser in (2, 3):
        decision = decide([listing], [], loser, "k", None)
        assert decision.problem is None
        assert decision.reason.startswith("another runner (runner-1) holds this delivery since 2027-01-15T08:00:00Z")


def test_duplicated_rows_and_ids_out_of_order_decide_as_one_row_each():
    # Grafana's listing loop can return a row twice; late tags can list a higher id before a lower one.
    listing = [annotation(3), annotation(1), annotation(3), annotation(2), annotation(1)]
    assert decide([listing], [], 1, "k", None).reason is None
    assert "runner-1" in decide([listing], [], 3, "k", None).reason
    assert len(_ledger.unique(listing)) == 3


def test_runner_clocks_do_not_order_claims():
    listing = sorted([annotation(1, time_ms=NOW - 5000, created=NOW), annotation(3, time_ms=NOW + 4000, created=NOW + 300),
                      annotation(2, time_ms=NOW, created=NOW + 100)], key=lambda item: -item["timeEnd"])
    assert [item["id"] for item in listing] == [1, 2, 3]
    assert decide([listing], [], 1, "k", None).reason is None
    assert "runner-1" in decide([listing], [], 3, "k", None).reason


def test_newer_claims_end_earlier_so_a_cut_listing_drops_them_first():
    # Since 11.3 Grafana fetches at most the count it took before its dashboard search, newest timeEnd
    # first: claims made meanwhile push out those that end earliest, which are the newest claims.
    claims = [annotation(i, time_ms=NOW + 100 * i) for i in range(1, 6)]
    ordered = sorted(claims, key=lambda item: -item["timeEnd"])
    assert [item["id"] for item in ordered[:3]] == [1, 2, 3]


def test_grafana_instance_clocks_a_few_seconds_apart():
    listing = [annotation(1, created=NOW + 4000), annotation(2, created=NOW)]
    assert "runner-1" in decide([listing], [], 2, "k", None).reason
    inside = NOW - (LEASE + CLOCK_SKEW - 1) * 1000
    assert "runner-1" in decide([[annotation(1, created=inside), annotation(2)]], [], 2, "k", None).reason
    lapsed = decide([[annotation(1, created=inside - 2000), annotation(2)]], [], 2, "k", None)
    assert lapsed.reason is None and lapsed.stale == [1]


def test_a_failed_claim_that_may_have_sent_holds_until_its_lease_ends():
    held = decide([[annotation(1, "failed", created=NOW - 30000), annotation(2)]], [], 2, "k", None).reason
    assert "may still have acted" in held and "held until 2027-01-15T08:01:20Z" in held
    after = decide([[annotation(1, "failed", created=NOW - (LEASE + CLOCK_SKEW + 1) * 1000), annotation(2)]], [], 2, "k", None)
    assert after.reason is None and after.stale == [1]


def test_released_claims_do_not_count():
    decision = decide([[annotation(1, "released"), annotation(2)]], [], 2, "k", None)
    assert decision.reason is None and decision.stale == [1]


def test_recorded_sends_decide_the_key_and_min_interval_on_grafanas_clock():
    sent = record(1, updated=NOW - 3500_000)
    older = record(0, created=NOW - 7200_000)
    once = decide([[annotation(2)]], [sent, older], 2, "k", None)
    assert "delivery key 'k' was already sent at 2027-01-15T07:01:40Z" in once.reason and once.stale == []
    # min_interval counts from the record's `updated` (Grafana's clock), not from the runner's `time`.
    assert "within min_interval (3600s)" in decide([[annotation(2)]], [sent], 2, "k", 3600).reason
    assert decide([[annotation(2)]], [sent, older], 2, "k", 3500).reason is None


def test_many_claims_cannot_crowd_out_a_record():
    # Records come from their own listing: a full page of claims fails closed, the record still decides.
    decision = decide([[annotation(i) for i in range(2, 7)]], [record(1)], 6, "k", None, limit=5)
    assert "already sent" in decision.reason


def test_a_record_pushed_out_of_its_listing_leaves_the_newest_to_decide(grafana, tmp_path):
    # Records list newest timeEnd first; what a cut 11.3 listing drops is the oldest record, never the one that decides.
    for index in range(2):
        assert run_once(runner(grafana, tmp_path, "run-%d" % index), min_interval=60) == (None, None)
        grafana.clock += 61_000
    grafana.clock -= 61_000 - 1000
    original = grafana.find_annotations

    def cut(tags, limit=1, time_range=None):
        found = original(tags, limit, time_range)
        return found[:-1] if "outcome:sent" in tags else found

    grafana.find_annotations = cut
    assert "within min_interval" in run_once(runner(grafana, tmp_path, "soon"), min_interval=60)[0]


def test_own_claim_never_listed_in_empty_listings_is_the_permission_problem():
    decision = decide([[], [], []], [], 7, "k", None)
    assert "annotation 7" in decision.problem and "nothing was sent" in decision.problem and "in 3 listings" in decision.problem
    assert "annotations:read with scope annotations:type:organization" in decision.problem


def test_a_partial_listing_without_the_own_claim_is_incomplete_not_a_permission_problem():
    decision = decide([[annotation(1)], [annotation(1)]], [], 2, "k", None)
    # claim 1 is live and lower: skip for it, whatever is missing
    assert "runner-1" in decision.reason and decision.problem is None
    # claim 3 is above this run's: it never holds the delivery for it, and the listing lacks claim 2
    decision = decide([[annotation(3)], [annotation(3)]], [], 2, "k", None)
    assert "listing is incomplete" in decision.problem and "annotations:type:organization" not in decision.problem
    assert "dashboards the credentials can read" in decision.problem


def test_the_last_listing_of_a_round_decides():
    # The first listing lacked the own claim (pushed out); the one asked again shows it, lowest: send.
    assert decide([[annotation(3)], [annotation(2), annotation(3)]], [], 2, "k", None).reason is None


def test_a_listing_capped_by_limit_fails_closed():
    everything = [annotation(i, time_ms=NOW + i) for i in (1, 2, 3, 4)]
    decision = decide([everything[:3]], [], 4, "k", None, 3, "delivery:abc")
    assert "listed 3 claims" in decision.problem and "delivery:abc" in decision.problem
    assert decide([everything], [], 4, "k", None, 5).reason.startswith("another runner (runner-1)")


def test_check_mode_judges_without_a_claim():
    assert judge([parse_claim(annotation(1))], [], NOW, "k", None)[0].startswith("another runner (runner-1)")
    assert judge([], [], NOW, "k", None)[0] is None


def _tag_matches(stored, wanted):
    """Grafana's tag filter: a query tag without a value matches every value of its key."""
    return wanted in stored or (":" not in wanted and any(tag.split(":", 1)[0] == wanted for tag in stored))


class FakeGrafana:
    """Grafana's annotation API in memory, as the protocol relies on it: ids from one sequence, `created`
    and `updated` from Grafana's clock, listings newest `timeEnd` first and cut at `limit`, 404 for a missing id.
    `pushed_out` cuts the next listings short by that many rows, as rows added during an 11.3 listing do.
    It stands in for GrafanaClient (its lease arithmetic is the client's own)."""

    longest_send = GrafanaClient.longest_send
    # The client's policy that longest_send reads: no render retries here.
    retry_policy = NO_RETRIES

    def __init__(self, timeout=60):
        self.timeout = timeout
        self.clock = int(time.time() * 1000)
        self.annotations = {}
        self.next_id = 1
        self.requests = []
        self.lock = threading.Lock()
        self.organization_read = True   # False: annotations:read scoped to dashboards (200 [])
        self.uncommitted = {}           # id -> listings that do not show it yet (tags stored late)
        self.pushed_out = 0             # listings of claims that lose their last row
        self.barrier = None             # every claim waits here after its POST
        self.after_listing = None       # called after each listing (clean-up, ...)

    def create_annotation(self, body):
        with self.lock:
            annotation_id, self.next_id = self.next_id, self.next_id + 1
            self.annotations[annotation_id] = dict(body, id=annotation_id, created=self.clock, updated=self.clock)
            self.requests.append("POST")
        if self.barrier:
            self.barrier.wait(timeout=10)
        return {"id": annotation_id, "message": "Annotation added"}

    def find_annotations(self, tags, limit=1, time_range=None):
        with self.lock:
            self.requests.append("GET")
            found = [dict(item) for item in self.annotations.values() if all(_tag_matches(item["tags"], tag) for tag in tags)
                     and self.organization_read and not self.uncommitted.get(item["id"])
                     and (not time_range or (item["time"] <= time_range[1] and item["timeEnd"] >= time_range[0]))]
            for annotation_id in self.uncommitted:
                self.uncommitted[annotation_id] = max(0, self.uncommitted[annotation_id] - 1)
            found = sorted(found, key=lambda item: (item["timeEnd"], item["time"]), reverse=True)[:limit]
            if self.pushed_out and "ledger:claim" in tags and found:
                self.pushed_out -= 1
                found = found[:-1]
        if self.after_listing:
            self.after_listing()
        return found

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
    monkeypatch.setattr(_ledger, "RELIST_PAUSE", 0.01)
    return FakeGrafana()


def runner(grafana, tmp_path, name):
    """A runner on its own host: its own lock folder, the shared Grafana."""
    return GrafanaLedger(grafana, FileLedger(str(tmp_path / name / "ledger.json")), runner=name)


def run_once(ledger, outcome="sent", key="k", min_interval=None, retries=0, delivery="d" * 64, resend_uncertain=False,
             seen=None):
    """One run through the ledger as _delivery.deliver drives it: (skip reason or None, failure note). `seen`, a list,
    gets the reservation."""
    ledger.prepare()
    with ledger.reserve(delivery, time.time() + 5, key, min_interval, retries, resend_uncertain) as reservation:
        if seen is not None:
            seen.append(reservation)
        if reservation.skip_reason:
            return reservation.skip_reason, None
        if outcome == "sent":
            reservation.sent({"report_id": "3", "delivery_key": key, "outcome": "sent", "recipients": 1})
            return None, None
        if outcome == "killed":
            return None, None  # the runner dies: neither sent nor failed
        return None, reservation.failed(outcome == "may have acted", {"report_id": "3", "delivery_key": key,
                                                                      "message": "Grafana or a proxy failed (HTTP 504)."})


def claim_body(runner_name, clock, lease=100):
    return {"time": clock, "timeEnd": _ledger.CLAIM_ORDER_MS - clock, "tags": delivery_tags("d" * 64) + ["ledger:claim"],
            "text": claim_text(dict(v=1, state="claimed", runner=runner_name, lease=lease))}


def test_twelve_runners_that_claim_at_once_send_once(grafana, tmp_path):
    grafana.barrier = threading.Barrier(12)  # every claim exists before any runner lists them
    grafana.pushed_out = 6                   # and some listings come back cut short
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
    assert all("another runner" in reason or "already sent" in reason for reason, dummy in results.values() if reason is not None)
    assert list(grafana.states().values()) == ["sent"]
    grafana.barrier = None
    assert "already sent" in run_once(runner(grafana, tmp_path, "later"))[0]


def test_a_claim_seen_late_is_seen_by_the_settle_listing(grafana, tmp_path):
    other = grafana.create_annotation(claim_body("slow", grafana.clock))["id"]
    grafana.uncommitted[other] = 2  # its tags are stored late: the first round's listings miss it
    reason, dummy = run_once(runner(grafana, tmp_path, "fast"))
    assert reason.startswith("another runner (slow) holds")
    assert grafana.requests == ["POST", "POST"] + ["GET"] * 6 + ["DELETE"] and list(grafana.states()) == [other]


def test_a_listing_that_lost_the_own_claim_is_asked_again(grafana, tmp_path):
    grafana.pushed_out = 2
    assert run_once(runner(grafana, tmp_path, "one")) == (None, None)
    # round 1: 3 claims listings, 0.2 and sent records; round 2: claims, records, uncertain records
    assert grafana.requests.count("GET") == 3 + 3 + 3 - 1


def test_a_winner_costs_six_listings_a_claim_and_a_record(grafana, tmp_path):
    assert run_once(runner(grafana, tmp_path, "one")) == (None, None)
    assert grafana.requests == ["POST", "GET", "GET", "GET", "GET", "GET", "GET", "PATCH"]
    record_ = grafana.annotations[1]
    assert record_["tags"] == ["reportops.grafana", "delivery:" + "d" * 32, "outcome:sent", "report:3"]
    fields = json.loads(record_["text"].splitlines()[1])
    assert fields["state"] == "sent" and fields["report_id"] == "3" and fields["runner"] == "one"
    assert fields["outcome"] == "sent" and fields["recipients"] == 1  # every key of the details
    assert fields["lease"] == grafana.longest_send(0) + _ledger.LEASE_BEFORE_SEND + _ledger.LEASE_AFTER_SEND == 80
    assert record_["timeEnd"] - record_["time"] < 5000  # the record spans the send, no longer the lease


def test_the_lease_grows_with_retries(grafana, tmp_path):
    run_once(runner(grafana, tmp_path, "one"), outcome="killed", retries=2)
    assert parse_claim(grafana.annotations[1])["lease"] == 60 * 3 + 30 * 2 + 20


def test_unreadable_organization_annotations_send_nothing(grafana, tmp_path):
    grafana.organization_read = False
    with pytest.raises(LedgerError) as raised:
        run_once(runner(grafana, tmp_path, "blind"))
    assert "annotations:read with scope annotations:type:organization" in str(raised.value)
    # The claims listing is asked LISTING_ATTEMPTS times, then the records once each.
    assert grafana.annotations == {} and grafana.requests == ["POST"] + ["GET"] * (_ledger.LISTING_ATTEMPTS + 2) + ["DELETE"]


def test_records_of_0_2_still_make_runs_skip(grafana, tmp_path):
    grafana.create_annotation({"time": grafana.clock - 5000, "timeEnd": grafana.clock - 5000,
                               "tags": delivery_tags("d" * 64) + ["report:3"],
                               "text": claim_text(dict(v=1, state="sent", runner="old", lease=80, delivery_key="k"))})
    # a history record of a failure does not count as a send
    grafana.create_annotation({"time": grafana.clock - 4000, "timeEnd": grafana.clock - 4000,
                               "tags": delivery_tags("d" * 64) + ["outcome:failed", "report:3"], "text": "failed"})
    assert "already sent" in runner(grafana, tmp_path, "checker").look("d" * 64, "k", None).skip_reason
    assert "PATCH" not in grafana.requests  # check mode writes nothing
    assert "already sent" in run_once(runner(grafana, tmp_path, "new"))[0]
    # The first run after 0.2 adds outcome:sent to the old record, so that history records cannot crowd it out.
    assert grafana.annotations[1]["tags"] == delivery_tags("d" * 64) + ["report:3", "outcome:sent"]
    assert grafana.requests.count("PATCH") == 1


def test_history_records_of_failures_do_not_count_as_sends(grafana, tmp_path):
    grafana.create_annotation({"time": grafana.clock - 4000, "timeEnd": grafana.clock - 4000,
                               "tags": delivery_tags("d" * 64) + ["outcome:failed", "report:3"], "text": "failed"})
    assert run_once(runner(grafana, tmp_path, "new")) == (None, None)


def test_a_record_deleted_by_clean_up_lets_other_hosts_send_again_and_the_sending_host_says_so(grafana, tmp_path):
    # What the docs say: with [annotations.api] max_age, a delivery key without min_interval is once per retention period.
    assert run_once(runner(grafana, tmp_path, "first")) == (None, None)
    assert "already sent" in run_once(runner(grafana, tmp_path, "second"))[0]
    grafana.annotations.clear()  # Grafana's clean-up deletes the record
    reason = run_once(runner(grafana, tmp_path, "first"))[0]  # the host that sent keeps a copy in its ledger file
    assert "already sent" in reason and "Grafana no longer lists the record" in reason and "max_age" in reason
    assert "first/ledger.json" in runner(grafana, tmp_path, "first").look("d" * 64, "k", None).skip_reason
    assert run_once(runner(grafana, tmp_path, "third")) == (None, None)


def test_one_host_sending_one_key_to_several_grafanas_keeps_them_apart(grafana, tmp_path):
    # The role sends one delivery key to dev, staging and prod from one host: the host's copy of dev's
    # record must not make prod skip (and the lock of one must not wait for the other).
    shared_file = FileLedger(str(tmp_path / "host" / "ledger.json"))
    dev = GrafanaLedger(grafana, shared_file, runner="dev", local_scope="http://dev|org=default")
    assert run_once(dev) == (None, None)
    prod = GrafanaLedger(FakeGrafana(), shared_file, runner="prod", local_scope="http://prod|org=default")
    assert run_once(prod) == (None, None)
    assert dev.local_key("d" * 64) != prod.local_key("d" * 64)
    grafana.annotations.clear()  # dev's record deleted by clean-up: dev's copy still counts on this host
    assert "Grafana no longer lists the record" in run_once(dev)[0]


def test_a_live_claim_deleted_by_clean_up_fails_closed_and_says_so(grafana, tmp_path):
    def clean_up():
        if grafana.requests.count("GET") == 3:  # after round 1: max_annotations_to_keep deletes the claim
            grafana.annotations.pop(1, None)

    grafana.after_listing = clean_up
    with pytest.raises(LedgerError) as raised:
        run_once(runner(grafana, tmp_path, "one"))
    assert "was listed, then no longer" in str(raised.value) and "max_annotations_to_keep" in str(raised.value)
    assert grafana.requests.count("POST") == 1 and "PATCH" not in grafana.requests


def test_listings_slower_than_the_lease_fail_before_sending_naming_the_dashboard_search(grafana, tmp_path, monkeypatch):
    monkeypatch.setattr(_ledger, "LEASE_BEFORE_SEND", 0.05)
    grafana.after_listing = lambda: time.sleep(0.02)
    with pytest.raises(LedgerError) as raised:
        run_once(runner(grafana, tmp_path, "slow"))
    assert "search of the dashboards" in str(raised.value) and "try again" not in str(raised.value)
    assert grafana.annotations == {}


def test_claims_of_several_deliveries_in_threads_on_one_ledger_keep_their_own_timings(grafana, tmp_path, monkeypatch):
    # grafana_report_deliver's threads share one GrafanaLedger: what one claim measures must stay in that claim.
    monkeypatch.setattr(_ledger, "LEASE_BEFORE_SEND", 0.05)
    slowness = dict(("%d" % index * 64, 0.1 + 0.2 * index) for index in range(4))  # each delivery's listings
    current = threading.local()
    grafana.after_listing = lambda: time.sleep(slowness[current.delivery])
    ledger, results, problems = runner(grafana, tmp_path, "shared"), {}, []

    def work(delivery):
        current.delivery = delivery
        try:
            run_once(ledger, delivery=delivery)
        except LedgerError as exc:
            results[delivery] = str(exc)
        except Exception as exc:  # pylint: disable=broad-except
            problems.append(exc)

    threads = [threading.Thread(target=work, args=(delivery,)) for delivery in slowness]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert problems == [] and sorted(results) == sorted(slowness)
    for delivery, message in results.items():
        count, total, slowest = re.search(r"(\d+) annotation listings took ([0-9.]+)s \(the slowest ([0-9.]+)s\)", message).groups()
        # Only this delivery's own six listings (claims, 0.2 records, records; after settling claims, records,
        # uncertain records), each as slow as this delivery's and none as slow as the next one's.
        assert int(count) == 6
        assert abs(float(slowest) - slowness[delivery]) < 0.1  # the message rounds to 0.1s
        assert abs(float(total) - 6 * slowness[delivery]) < 0.3
    assert grafana.annotations == {}


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


def test_a_failed_claim_of_an_earlier_version_holds_until_the_lease_ends(grafana, tmp_path):
    # Versions before the uncertain record kept the claim of a send that may have happened as "failed" until its lease.
    grafana.create_annotation(dict(claim_body("old", grafana.clock, lease=80),
                                   text=claim_text(dict(v=1, state="failed", runner="old", lease=80))))
    assert "may still have acted" in run_once(runner(grafana, tmp_path, "soon"))[0]
    grafana.clock += (80 + CLOCK_SKEW + 1) * 1000
    assert run_once(runner(grafana, tmp_path, "later")) == (None, None)
    assert grafana.states() == {3: "sent"}


def test_records_are_kept_as_the_delivery_history(grafana, tmp_path):
    for index in range(3):
        assert run_once(runner(grafana, tmp_path, "run-%d" % index), min_interval=60) == (None, None)
        grafana.clock += 61_000
    assert list(grafana.states().values()) == ["sent"] * 3
    assert "within min_interval" in run_once(runner(grafana, tmp_path, "soon"), min_interval=120)[0]


def test_a_full_listing_fails_closed_and_cleans_up(grafana, tmp_path, monkeypatch):
    monkeypatch.setattr(_ledger, "LISTING_LIMIT", 4)
    for index in range(3):  # three runners died holding their claims, long ago
        grafana.create_annotation(claim_body("dead-%d" % index, grafana.clock, lease=80))
    grafana.clock += (80 + CLOCK_SKEW + 1) * 1000
    with pytest.raises(LedgerError) as raised:
        run_once(runner(grafana, tmp_path, "crowded"))
    assert "listed 4 claims" in str(raised.value)
    assert grafana.annotations == {}  # the lapsed claims it saw and its own went
    assert run_once(runner(grafana, tmp_path, "after")) == (None, None)
    assert list(grafana.states().values()) == ["sent"]


def test_look_predicts_without_writing(grafana, tmp_path):
    ledger = runner(grafana, tmp_path, "checker")
    assert ledger.look("d" * 64, "k", None).skip_reason is None
    run_once(runner(grafana, tmp_path, "holder"), outcome="killed")
    assert "another runner (holder) holds" in ledger.look("d" * 64, "k", None).skip_reason
    grafana.requests = []
    ledger.look("d" * 64, "k", None).skip_reason
    assert grafana.requests == ["GET", "GET", "GET", "GET"]  # claims, 0.2 records, records, uncertain records


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
    old = annotation(1, "sent", created=NOW - 86400_000, tags=["reportops.grafana", "delivery:abc", "outcome:sent", "report:3"])
    fetch.reply(200, {"id": 9, "message": "Annotation added"})
    fetch.reply(200, [annotation(9)]).reply(200, []).reply(200, [old])   # round 1: claims, 0.2 records, records
    fetch.reply(200, [annotation(9)]).reply(200, [old]).reply(200, [])   # round 2: claims, records, uncertain records
    fetch.reply(200, {"message": "Report was sent"}).reply(200, {"message": "Annotation patched"})
    outcome = deliver(client, ledger, "", Delivery("3", ["a@example.com"], delivery_key="k", min_interval=3600), 1, False)
    assert outcome["outcome"] == "sent", outcome
    tags = "tags=reportops.grafana&tags=delivery%%3A%s" % outcome_tag(outcome)
    claims = ("GET", "/annotations?%s&tags=ledger%%3Aclaim&type=annotation&limit=500" % tags)
    records = ("GET", "/annotations?%s&tags=outcome%%3Asent&type=annotation&limit=100" % tags)
    uncertain = ("GET", "/annotations?%s&tags=outcome%%3Auncertain&type=annotation&limit=100" % tags)
    legacy = calls(fetch)[2]
    assert legacy[1].startswith("/annotations?%s&tags=report&type=annotation&limit=100&from=1&to=" % tags)
    assert calls(fetch) == [("POST", "/annotations"), claims, legacy, records, claims, records, uncertain,
                            ("POST", "/reports/email"), ("PATCH", "/annotations/9")]
    claim, record_ = fetch.bodies()[0], fetch.bodies()[8]
    assert claim["tags"][-1] == "ledger:claim"
    assert json.loads(claim["text"].splitlines()[1])["lease"] == client.longest_send(1) + 20
    assert claim["timeEnd"] == _ledger.CLAIM_ORDER_MS - claim["time"]
    assert json.loads(record_["text"].splitlines()[1])["state"] == "sent"
    assert record_["tags"][2:] == ["outcome:sent", "report:3"]


def outcome_tag(outcome):
    return delivery_id("3", ["a@example.com"], "k", "")[:32]


@pytest.mark.parametrize("status, body, released", [
    (500, {"message": "Failed to send report"}, True),           # Grafana's own error: the report was not sent
    (504, "upstream request timeout", False),                     # a proxy gave up: Grafana may still send it
])
def test_a_failed_send_releases_or_holds_the_claim(connected, fetch, status, body, released):
    client, ledger = connected
    fetch.reply(200, {"id": 9}).reply(200, listed((9,))).reply(200, []).reply(200, [])
    fetch.reply(200, listed((9,))).reply(200, []).reply(200, []).reply(status, body)
    fetch.reply(200, {"message": "Annotation deleted" if released else "Annotation patched"})
    outcome = deliver(client, ledger, "", Delivery("3", ["a@example.com"], delivery_key="k"), 0, False)
    assert outcome["outcome"] == "failed" and not outcome["sent"]
    assert calls(fetch)[-1] == ("DELETE" if released else "PATCH", "/annotations/9")
    if released:
        assert outcome["message"].endswith("Its claim in the Grafana ledger was released, so the next run sends it.")
    else:
        assert "may still have sent report 3" in outcome["message"]
        assert outcome["message"].endswith(
            "The delivery ledger remembers this send as uncertain (Grafana annotation 9, tagged outcome:uncertain): no later"
            " run sends it again (delivery key 'k' is sent once) unless it runs with resend_uncertain: true.")
        patch = fetch.bodies()[-1]
        fields = json.loads(patch["text"].splitlines()[1])
        assert fields["state"] == fields["outcome"] == "uncertain" and "may still have sent report 3" in fields["reason"]
        assert patch["tags"][2:] == ["outcome:uncertain", "report:3"] and "timeEnd" in patch


def test_a_token_without_annotations_create_sends_nothing(connected, fetch):
    client, ledger = connected
    fetch.reply(403, {"message": "You'll need additional permissions to perform this action. Permissions needed: annotations:create"})
    outcome = deliver(client, ledger, "", Delivery("3", ["a@example.com"], delivery_key="k"), 0, False)
    assert outcome["outcome"] == "failed" and outcome["attempts"] == 0 and len(fetch.calls) == 1
    assert "annotations:create (scope annotations:type:organization)" in outcome["message"]


# -- "May have been sent" is remembered (issue 31): uncertain sends hold the delivery ----------------------------

UNCERTAIN_DETAILS = {"report_id": "3", "delivery_key": "k", "message": "Grafana did not answer within 60s for report 3."}


def test_a_version_1_ledger_still_loads_and_stays_version_1_without_uncertain_entries(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"version": 1, "deliveries": {"d1": {"report_id": "3", "delivery_key": "k", "sent_at": 1.5e9}}}))
    ledger = FileLedger(str(path))
    assert ledger.last_sent("d1") == 1.5e9 and "already sent" in ledger.look("d1", "k", None).skip_reason
    ledger.prepare()
    ledger.record("d2", {"report_id": "4"}, time.time() + 5)
    assert json.loads(path.read_text())["version"] == 1  # older versions of the collection still read it


def test_file_ledger_remembers_an_uncertain_send_and_holds_the_delivery(tmp_path):
    sent_at = time.time() - 7200
    (tmp_path / "ledger.json").write_text(json.dumps({"version": 1, "deliveries": {"d" * 64: {"sent_at": sent_at}}}))
    ledger = FileLedger(str(tmp_path / "ledger.json"))
    reason, note = run_once(ledger, outcome="may have acted", key=None, min_interval=3600)
    assert reason is None
    assert note.startswith("The delivery ledger remembers this send as uncertain (ledger file %s, entry %s): no run sends it"
                           " again before " % (ledger.path, "d" * 64))
    assert note.endswith("(min_interval 1h from this attempt) unless it runs with resend_uncertain: true.")
    content = json.loads((tmp_path / "ledger.json").read_text())
    entry = content["deliveries"]["d" * 64]
    assert content["version"] == 2 and entry["sent_at"] == sent_at  # the last confirmed send is kept
    assert entry["uncertain"]["reason"] == "Grafana or a proxy failed (HTTP 504)." and entry["uncertain"]["at"] >= sent_at
    seen = []
    reason = run_once(ledger, key=None, min_interval=3600, seen=seen)[0]
    assert seen[0].held and seen[0].last_sent == sent_at and seen[0].last_uncertain == entry["uncertain"]["at"]
    assert re.match(r"this delivery's send at \S+Z \(\d+s ago\) may have reached Grafana \(Grafana or a proxy failed \(HTTP 504\)\);"
                    r" it is held within min_interval \(1h\) of that attempt, until \S+Z, rather than risk mailing it twice\.", reason)
    assert ("To send it anyway, run with resend_uncertain: true (the role: -e report_delivery_resend_uncertain=true), or delete"
            " the entry %s from the ledger file %s." % ("d" * 64, ledger.path)) in reason
    assert "may have reached Grafana" in ledger.look("d" * 64, None, 3600).skip_reason  # check mode says the same


def test_an_uncertain_send_holds_a_delivery_key_for_good_until_resent_and_a_confirmed_send_replaces_it(tmp_path):
    ledger = FileLedger(str(tmp_path / "ledger.json"))
    assert run_once(ledger, outcome="may have acted")[0] is None
    entry = json.loads((tmp_path / "ledger.json").read_text())["deliveries"]["d" * 64]
    entry["uncertain"]["at"] -= 400 * 86400  # long ago: a delivery key is still held
    (tmp_path / "ledger.json").write_text(json.dumps({"version": 2, "deliveries": {"d" * 64: entry}}))
    reason = run_once(ledger)[0]
    assert "a delivery key is sent once, so delivery key 'k' stays held" in reason and "400d" in reason
    assert ledger.last_sent("d" * 64) is None
    assert ledger.look("d" * 64, "k", None, resend_uncertain=True).skip_reason is None
    assert run_once(ledger, resend_uncertain=True) == (None, None)  # sent anyway
    content = json.loads((tmp_path / "ledger.json").read_text())
    assert content["version"] == 1 and "uncertain" not in content["deliveries"]["d" * 64]
    assert "already sent" in run_once(ledger, resend_uncertain=True)[0]  # a confirmed send still counts


def test_an_uncertain_send_holds_only_within_min_interval_of_it(tmp_path):
    ledger = FileLedger(str(tmp_path / "ledger.json"))
    run_once(ledger, outcome="may have acted", min_interval=60)
    content = json.loads((tmp_path / "ledger.json").read_text())
    assert "held within min_interval (1m) of that attempt" in run_once(ledger, min_interval=60)[0]
    content["deliveries"]["d" * 64]["uncertain"]["at"] -= 61
    (tmp_path / "ledger.json").write_text(json.dumps(content))
    assert run_once(ledger, min_interval=60) == (None, None)


def test_a_failure_grafana_did_not_act_on_is_not_remembered(tmp_path):
    ledger = FileLedger(str(tmp_path / "ledger.json"))
    assert run_once(ledger, outcome="failed") == (None, None)
    assert not os.path.exists(ledger.path) and run_once(ledger) == (None, None)


def test_an_uncertain_send_the_file_cannot_remember_says_the_next_run_may_send(tmp_path, monkeypatch):
    ledger = FileLedger(str(tmp_path / "ledger.json"))
    ledger.prepare()

    def locked(*args):
        raise LedgerError("the ledger file is locked by another run")

    monkeypatch.setattr(ledger, "remember_uncertain", locked)
    with ledger.reserve("d1", time.time() + 5, "k", None) as reservation:
        note = reservation.failed(True, UNCERTAIN_DETAILS)
    assert note == ("The delivery ledger could not remember this send as uncertain (the ledger file is locked by another"
                    " run), so the next run may send it again.") and not reservation.uncertain


@pytest.mark.parametrize("entry", [
    {"uncertain": {"reason": "x"}},                           # no time
    {"uncertain": "yesterday"},                               # not an object
    {"sent_at": "x", "uncertain": {"at": 1.0}},                # a bad send time beside it
    {},                                                       # neither
])
def test_a_version_2_entry_needs_its_times(tmp_path, entry):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"version": 2, "deliveries": {"d1": entry}}))
    with pytest.raises(LedgerError) as raised:
        FileLedger(str(path)).last_sent("d1")
    assert "version 1 or 2" in str(raised.value)


def test_a_version_1_file_cannot_hold_an_uncertain_entry(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"version": 1, "deliveries": {"d1": {"sent_at": 1.0, "uncertain": {"at": 2.0}}}}))
    with pytest.raises(LedgerError):
        FileLedger(str(path)).last_sent("d1")


def uncertain_record(annotation_id, updated, reason="HTTP 504"):
    return dict(parse_claim(annotation(annotation_id, "uncertain", created=updated - 5000, updated=updated,
                                       tags=["reportops.grafana", "delivery:abc", "outcome:uncertain", "report:3"])),
                reason=reason)


def test_judge_an_uncertain_record_holds_unless_a_confirmed_send_is_newer_or_resend_uncertain():
    doubt = uncertain_record(5, NOW - 60_000)
    held = judge([], [], NOW, "k", None, uncertain=[doubt])
    assert held.held and "send at 2027-01-15T07:59:00Z (1m ago) may have reached Grafana (HTTP 504)" in held.reason
    assert "delete annotation 5 (tagged outcome:uncertain) in Grafana" in held.reason
    assert judge([], [], NOW, "k", None, uncertain=[doubt], resend_uncertain=True) == (None, [], False)
    newer_send = record(6, created=NOW - 30_000)
    assert "already sent" in judge([], [newer_send], NOW, "k", None, uncertain=[doubt]).reason
    assert not judge([], [newer_send], NOW, "k", None, uncertain=[doubt]).held
    assert _ledger.last_known([newer_send], [doubt]) == ((NOW - 30_000) / 1000.0, None)
    older_send = record(4, created=NOW - 7200_000)
    assert judge([], [older_send], NOW, None, 3600, uncertain=[doubt]).held
    assert _ledger.last_known([older_send], [doubt]) == ((NOW - 7200_000) / 1000.0, (NOW - 60_000) / 1000.0)
    # min_interval counts from the uncertain attempt
    assert judge([], [older_send], NOW, None, 50, uncertain=[doubt]) == (None, [], False)


def test_grafana_ledger_turns_the_claim_of_an_uncertain_send_into_a_record_that_holds_the_delivery(grafana, tmp_path):
    reason, note = run_once(runner(grafana, tmp_path, "first"), outcome="may have acted")
    assert reason is None and grafana.states() == {1: "uncertain"}
    assert note == ("The delivery ledger remembers this send as uncertain (Grafana annotation 1, tagged outcome:uncertain):"
                    " no later run sends it again (delivery key 'k' is sent once) unless it runs with resend_uncertain: true.")
    uncertain = grafana.annotations[1]
    assert uncertain["tags"] == ["reportops.grafana", "delivery:" + "d" * 32, "outcome:uncertain", "report:3"]
    fields = json.loads(uncertain["text"].splitlines()[1])
    assert fields["state"] == fields["outcome"] == "uncertain" and fields["reason"] == "Grafana or a proxy failed (HTTP 504)."
    # Long after the claim's lease: a delivery key stays held.
    grafana.clock += 86400_000
    seen = []
    reason = run_once(runner(grafana, tmp_path, "later"), seen=seen)[0]
    assert seen[0].held and seen[0].last_sent is None and seen[0].last_uncertain == grafana.annotations[1]["updated"] / 1000.0
    assert "may have reached Grafana (Grafana or a proxy failed (HTTP 504)); a delivery key is sent once" in reason
    assert "delete annotation 1 (tagged outcome:uncertain) in Grafana" in reason
    assert grafana.states() == {1: "uncertain"}  # the held run's claim went
    assert "may have reached Grafana" in runner(grafana, tmp_path, "checker").look("d" * 64, "k", None).skip_reason
    assert run_once(runner(grafana, tmp_path, "resend"), resend_uncertain=True) == (None, None)
    assert sorted(grafana.states().values()) == ["sent", "uncertain"]  # the record of the doubt is history
    seen = []
    assert "already sent" in run_once(runner(grafana, tmp_path, "after"), seen=seen)[0] and not seen[0].held
    assert seen[0].last_uncertain is None  # the confirmed send replaced it


def test_grafana_ledger_holds_an_uncertain_send_within_min_interval_of_it(grafana, tmp_path):
    assert run_once(runner(grafana, tmp_path, "first"), min_interval=3600) == (None, None)
    grafana.clock += 7200_000
    run_once(runner(grafana, tmp_path, "second"), outcome="may have acted", min_interval=3600)
    grafana.clock += 1800_000
    seen = []
    assert "held within min_interval (1h) of" in run_once(runner(grafana, tmp_path, "third"), min_interval=3600, seen=seen)[0]
    assert seen[0].last_sent is not None and seen[0].last_uncertain > seen[0].last_sent
    grafana.clock += 1801_000
    assert run_once(runner(grafana, tmp_path, "fourth"), min_interval=3600) == (None, None)


def test_an_uncertain_record_grafana_refuses_leaves_the_claim_holding_until_its_lease(grafana, tmp_path):
    original = grafana.update_annotation

    def refuse(annotation_id, fields):
        raise GrafanaError("Access to the annotation was denied (HTTP 403).", status=403)

    grafana.update_annotation = refuse
    note = run_once(runner(grafana, tmp_path, "first"), outcome="may have acted")[1]
    grafana.update_annotation = original
    assert "could not record this send as uncertain in Grafana (Access to the annotation was denied" in note
    assert "its claim (annotation 1) holds the delivery until" in note and grafana.states() == {1: "claimed"}
    assert "another runner (first) holds" in run_once(runner(grafana, tmp_path, "soon"))[0]


@pytest.mark.parametrize("seconds, text", [(518400, "6d"), (5400, "1h30m"), (90, "1m30s"), (3600, "1h"), (59, "59s")])
def test_intervals_read_as_the_options_write_them(seconds, text):
    assert _ledger._interval(seconds) == text


@pytest.mark.parametrize("message, first", [
    ("Grafana or a proxy in front of it failed on report 1 (HTTP 504: upstream). Grafana may still have sent report 1, so"
     " it was not retried.", "Grafana or a proxy in front of it failed on report 1 (HTTP 504: upstream)"),
    ("Grafana did not answer within 60s for report 3. Grafana may still render and send report 3.",
     "Grafana did not answer within 60s for report 3"),
    (None, "no reason recorded"),
    ("x" * 400, "x" * 297 + "..."),
])
def test_a_held_message_quotes_the_first_sentence_of_what_the_send_met(message, first):
    assert _ledger._first_sentence(message) == first


def test_what_the_held_message_says_to_delete_by_hand_lets_the_next_run_send(grafana, tmp_path):
    # ledger: file: the entry the message names, in the file it names.
    ledger = FileLedger(str(tmp_path / "file" / "ledger.json"))
    run_once(ledger, outcome="may have acted")
    entry, path = re.search(r"delete the entry (\w+) from the ledger file (\S+)\.$", run_once(ledger)[0]).groups()
    content = json.loads(open(path).read())
    del content["deliveries"][entry]
    with open(path, "w") as stream:
        stream.write(json.dumps(content))
    assert run_once(ledger) == (None, None)
    # ledger: grafana: the annotation the message names.
    run_once(runner(grafana, tmp_path, "first"), outcome="may have acted")
    annotation_id = int(re.search(r"delete annotation (\d+) \(tagged outcome:uncertain\)", run_once(runner(grafana, tmp_path, "held"))[0]).group(1))
    grafana.delete_annotation(annotation_id)
    assert run_once(runner(grafana, tmp_path, "after")) == (None, None)
