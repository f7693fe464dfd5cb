# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The delivery ledger: which deliveries succeeded when, so that a re-run does not mail twice."""

from __future__ import annotations

import collections
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import socket
import tempfile
import time

from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import (
    CLAIM_TAG,
    REPORT_TAG_KEY,
    SENT_TAG,
    claim_text,
    delivery_tags,
    is_send_record,
    json_fields,
    once_each,
    record_tags,
    utc_iso,
)
from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError

LEDGER_VERSION = 1
_LOCK_POLL = 0.1


class LedgerError(Exception):
    """The ledger cannot be read, written or locked; nothing was sent."""


def delivery_id(report_id, recipients, delivery_key=None, scope=""):
    """A stable id for one delivery.

    With a key, the key names the delivery; without one, the report and the recipient set do
    (order and case of the addresses do not matter). `scope` separates Grafana instances and
    organisations that share one ledger file.
    """
    if delivery_key:
        identity = {"scope": scope, "key": delivery_key}
    else:
        identity = {"scope": scope, "report_id": str(report_id),
                    "recipients": sorted({address.lower() for address in recipients}) if recipients is not None else "report"}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()


def skip_reason(last_sent, min_interval, delivery_key, now=None):
    """Why a delivery last sent at `last_sent` (epoch seconds, or None) is not sent again, or None to send."""
    if last_sent is None:
        return None
    when = utc_iso(last_sent)
    if min_interval is None:
        return "delivery key '%s' was already sent at %s; a delivery key is sent once." % (delivery_key, when)
    age = (time.time() if now is None else now) - last_sent
    if age < min_interval:
        return "this delivery was last sent at %s, %s ago, within min_interval (%ds)." % (when, _duration(age), min_interval)
    return None


def _duration(seconds):
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return "%d%s%s" % (seconds // size, unit, " %ds" % (seconds % size) if unit == "m" and seconds % size else "")
    return "%ds" % seconds


def default_ledger_path():
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state_home, "reportops-grafana", "ledger.json")


@contextlib.contextmanager
def _flock(path, exclusive, deadline, holder):
    """Hold a lock on `path` until the block ends, waiting until `deadline` (epoch seconds) at most."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.time() >= deadline:
                    raise LedgerError("%s is locked by another run (%s) that did not finish in time; nothing was sent."
                                      % (holder, path))
                time.sleep(_LOCK_POLL)
        yield
    finally:
        os.close(fd)


class Reservation:
    """A ledger's hold on one delivery: `skip_reason` (None to send), then `sent` or `failed` once."""

    def __init__(self, skip_reason_text):
        self.skip_reason = skip_reason_text

    def sent(self, details):
        """Record a confirmed send."""

    def failed(self, may_have_acted):
        """The send failed; `may_have_acted` when Grafana may have sent it anyway (timeout, 5xx).

        Returns None, or a sentence for the failure's message (what the ledger did with the delivery).
        """
        return None


class _RecordingReservation(Reservation):
    """Records a confirmed send in its ledger (both ledgers have `record`)."""

    def __init__(self, ledger, delivery, deadline, skip_reason_text):
        super().__init__(skip_reason_text)
        self.ledger, self.delivery, self.deadline = ledger, delivery, deadline

    def sent(self, details):
        self.ledger.record(self.delivery, details, self.deadline)


class FileLedger:
    """Deliveries in a JSON file on this host; runs that share the file serialise per delivery."""

    # Its records are its own; the outcome records are written beside it (history: grafana).
    records_outcomes = False

    def __init__(self, path):
        self.path = path
        self.directory = os.path.dirname(os.path.abspath(path))
        self.lock_directory = os.path.join(self.directory, "locks")

    def prepare(self):
        """Create the private folders; called only when a run will write."""
        for folder in (self.directory, self.lock_directory):
            try:
                os.makedirs(folder, mode=0o700)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise LedgerError("Cannot create the ledger folder %s: %s." % (folder, exc.strerror))

    @contextlib.contextmanager
    def delivery_lock(self, delivery, deadline):
        """Serialise runs on one delivery (held across the send), not on the whole ledger."""
        with _flock(os.path.join(self.lock_directory, delivery + ".lock"), True, deadline, "this delivery"):
            yield

    def last_sent(self, delivery):
        entry = self._read().get(delivery)
        return entry["sent_at"] if entry else None

    def peek(self, delivery, delivery_key, min_interval):
        """Why the delivery would be skipped now, or None; reads only (check mode)."""
        return skip_reason(self.last_sent(delivery), min_interval, delivery_key)

    @contextlib.contextmanager
    def reserve(self, delivery, deadline, delivery_key, min_interval, retries=0):
        """Hold the delivery for this run until the block ends; the reservation says whether to skip.

        `retries` (of the send) matters only to GrafanaLedger's lease; the lock here is held across the send.
        """
        with self.delivery_lock(delivery, deadline):
            yield _RecordingReservation(self, delivery, deadline, self.peek(delivery, delivery_key, min_interval))

    def record(self, delivery, details, deadline):
        """Add a confirmed send; the file is replaced atomically so a crash leaves the old or the new one."""
        with _flock(self.path + ".lock", True, deadline, "the ledger file"):
            deliveries = self._read()
            deliveries[delivery] = dict(details, sent_at=time.time())
            content = json.dumps({"version": LEDGER_VERSION, "deliveries": deliveries}, indent=1, sort_keys=True)
            handle, temporary = tempfile.mkstemp(prefix=".ledger-", dir=self.directory)
            try:
                with os.fdopen(handle, "w") as stream:
                    stream.write(content)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.chmod(temporary, 0o600)
                os.replace(temporary, self.path)
            except BaseException:
                if os.path.exists(temporary):
                    os.unlink(temporary)
                raise

    def _read(self):
        try:
            with open(self.path) as stream:
                content = stream.read()
        except IOError as exc:
            if exc.errno == errno.ENOENT:
                return {}
            raise LedgerError("Cannot read the delivery ledger %s: %s." % (self.path, exc.strerror))
        try:
            ledger = json.loads(content)
        except ValueError as exc:
            raise LedgerError("The delivery ledger %s is not valid JSON (%s); repair or move it: it is never reset automatically,"
                              " and nothing was sent." % (self.path, exc))
        deliveries = ledger.get("deliveries") if isinstance(ledger, dict) else None
        if not isinstance(deliveries, dict) or ledger.get("version") != LEDGER_VERSION or not all(
                isinstance(entry, dict) and isinstance(entry.get("sent_at"), (int, float)) for entry in deliveries.values()):
            raise LedgerError("The delivery ledger %s does not have the expected content (version %d); repair or move it:"
                              " it is never reset automatically, and nothing was sent." % (self.path, LEDGER_VERSION))
        return deliveries


# -- The Grafana ledger: a claim protocol on organization annotations -------------------------
#
# A run claims the delivery with an annotation, lists the delivery's claims and then its records of
# sends, and sends only if no record rules it out and its claim has the lowest id among the live
# claims, in two listings a settle time apart. Ids come from Grafana's database sequence, so the
# order needs no runner clock; leases are measured on Grafana's `created` stamps.
#
# Grafana's listing is not one complete, atomic pass, so no decision rests on it being complete:
# - Claims and records are found by different tags (CLAIM_TAG, SENT_TAG), so claims never crowd
#   records out of a listing.
# - Since Grafana 11.3 a listing counts its rows, searches dashboards, then fetches at most that
#   count ordered by timeEnd descending: rows added in between push out those with the lowest
#   timeEnd. A claim's timeEnd falls as its claim time rises (CLAIM_ORDER_MS - time), so what is
#   pushed out are the newest claims, never older ones; a listing without the run's own claim is
#   incomplete and asked again, never read as a permission problem.
# - Tags are stored after the row (a higher id can be listed before a lower one): the settle
#   listing sees a claim that got its id earlier but its tags late.

CLAIM_VERSION = 1
CLAIMED, FAILED, SENT, RELEASED = "claimed", "failed", "sent", "released"
# A claim's timeEnd is CLAIM_ORDER_MS minus its time: later claims end earlier (see above).
CLAIM_ORDER_MS = 2 * 4102444800000
# Far more than the live claims of one delivery can be (one per runner started within a lease); a
# full page may hide a claim, so it fails closed rather than guess.
LISTING_LIMIT = 500
# Only the newest record decides, and it is listed first (newest timeEnd first).
RECORD_LIMIT = 100
# Listings of the claims that lacked this run's own claim are asked again this often, after a pause growing by this.
LISTING_ATTEMPTS = 4
RELIST_PAUSE = 0.2
# Seconds a lease allows before the send starts (claim, list, settle, list) and after it ends (record).
LEASE_BEFORE_SEND = 10
LEASE_AFTER_SEND = 10
# Seconds by which the clocks of Grafana instances (HA) and runners may differ.
CLOCK_SKEW = 10
# Tags are stored after an annotation's row: the presumed winner lists again after this.
SETTLE_SECONDS = 1.0
READ_PERMISSION = "annotations:read with scope annotations:type:organization"

# What a run's listings say: `reason` to skip (None: send), `problem` when they cannot be trusted
# (fail closed), `stale` claim ids that no longer count, `own` whether the run's own claim was listed.
Decision = collections.namedtuple("Decision", "reason problem stale own")


def _integer(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_claim(annotation):
    """A ledger annotation as a dict: id, state, runner, lease (s), created and updated (Grafana's clock, ms)."""
    fields = json_fields(annotation.get("text"))
    annotation_id, lease, state = _integer(annotation.get("id")), _integer(fields.get("lease")), fields.get("state")
    created = _integer(annotation.get("created")) or _integer(annotation.get("time")) or 0
    if state not in (CLAIMED, FAILED, SENT, RELEASED) or annotation_id is None or (
            state in (CLAIMED, FAILED) and not (lease and lease > 0)):
        # A record written before the claim protocol (one annotation after each send) or a text changed
        # by hand counts as a send: that can only make runs skip, never send twice.
        state, lease = SENT, 0
    return dict(id=annotation_id, state=state, runner=str(fields.get("runner") or "an unknown runner"), lease=lease,
                created=created, updated=_integer(annotation.get("updated")) or created)


def unique(annotations):
    """A listing's annotations once each, parsed as claims (once_each)."""
    return once_each(annotations, parse_claim)


def lease_end(claim):
    """When a claim lapses, in ms on Grafana's clock."""
    return claim["created"] + (claim["lease"] + CLOCK_SKEW) * 1000


def held_reason(holder):
    since, until = utc_iso(holder["created"] / 1000.0), utc_iso(lease_end(holder) / 1000.0)
    if holder["state"] == FAILED:
        return ("another runner (%s) claimed this delivery at %s and its send failed in a way Grafana may still have acted"
                " on (a timeout or a 5xx), so the delivery is held until %s rather than repeated blindly."
                % (holder["runner"], since, until))
    return ("another runner (%s) holds this delivery since %s (Grafana's clock) and sends it; its claim lapses at %s"
            " unless it records the send." % (holder["runner"], since, until))


def judge(claims, records, now_ms, delivery_key, min_interval, own_id=None):
    """The protocol's rule at `now_ms` on one delivery's parsed claims and records: (skip reason or None, stale claim ids).

    The newest recorded send decides delivery_key-once and min_interval. Otherwise the lowest id among
    the live claims (neither released nor past their lease) holds the delivery; `own_id` is the
    deciding run's claim, and without one (check mode) any live claim means skip. Stale: released or
    lapsed claims, which any run may delete. Records are never deleted: they are the delivery's history.
    """
    newest = max(records, key=lambda record: (record["updated"], record["id"]), default=None)
    live, stale = [], []
    for claim in claims:
        if claim["state"] in (CLAIMED, FAILED) and now_ms < lease_end(claim):
            # A run decides only on the claims up to its own: one above it never holds the delivery for it,
            # even when a listing that lost the run's own claim makes it look like the lowest.
            if own_id is None or claim["id"] <= own_id:
                live.append(claim)
        elif claim["state"] != SENT and claim["id"] != own_id:
            stale.append(claim["id"])
    reason = skip_reason(newest["updated"] / 1000.0 if newest else None, min_interval, delivery_key, now_ms / 1000.0)
    if reason and newest.get("note"):
        reason = "%s %s" % (reason, newest["note"])
    holder = min(live, key=lambda claim: claim["id"], default=None)
    if reason is None and holder is not None and holder["id"] != own_id:
        reason = held_reason(holder)
    return reason, sorted(stale)


def decide(claim_listings, records, own_id, delivery_key, min_interval, limit=LISTING_LIMIT, tag=""):
    """The Decision of the run holding claim `own_id` from one round: the claims listings Grafana gave it
    (the last one counts; earlier ones lacked its own claim) and the send records seen so far (parsed)."""
    claims = unique(claim_listings[-1]) if claim_listings else []
    own = [claim for claim in claims if claim["id"] == own_id]
    # "Now" is this run's own claim's stamp: Grafana's clock, never later than the real now, so a
    # lease can only look younger than it is.
    now_ms = own[0]["created"] if own else max([claim["created"] for claim in claims + records] or [0])
    reason, stale = judge(claims, records, now_ms, delivery_key, min_interval, own_id)
    problem = None
    if claim_listings and len(claim_listings[-1]) >= limit:
        problem = ("Grafana listed %d claims of this delivery, as many as the ledger asks for, so a claim may be"
                   " hidden and nothing was sent; runs delete stale ones (with annotations:delete), or delete old"
                   " annotations tagged %s and %s and run again." % (len(claim_listings[-1]), tag or "with this delivery's tag", CLAIM_TAG))
    elif not own and reason is None and not any(claim_listings):
        problem = ("Grafana did not list this run's own claim (annotation %s) back in %d listings, so the delivery ledger"
                   " cannot be read and nothing was sent: the credentials need %s (organization annotations), not only"
                   " dashboards'." % (own_id, len(claim_listings), READ_PERMISSION))
    elif not own and reason is None:
        problem = ("Grafana listed claims of this delivery but not this run's own (annotation %s) in %d listings, so the"
                   " listing is incomplete and nothing was sent. Since Grafana 11.3 a listing counts the annotations,"
                   " then searches the dashboards the credentials can read, then fetches at most that count: claims"
                   " made meanwhile push others out, or Grafana's annotation clean-up ([annotations.api] max_age,"
                   " max_annotations_to_keep) deleted the claim." % (own_id, len(claim_listings)))
    return Decision(reason, problem, stale, bool(own))


def _joined(sentence, note):
    return "%s %s" % (sentence, note) if note else sentence


class _Claim(Reservation):
    """This run's claim on a delivery, won: the run sends, then records the send or the failure on the claim."""

    def __init__(self, ledger, delivery, annotation_id, fields, claimed_at):
        super().__init__(None)
        self.ledger, self.delivery, self.id, self.fields = ledger, delivery, annotation_id, fields
        # For messages only: this host's clock.
        self.until = utc_iso(claimed_at + fields["lease"] + CLOCK_SKEW)
        self.obsolete = []

    def _update(self, state, **changes):
        self.fields = dict(self.fields, state=state)
        self.ledger.client.update_annotation(self.id, dict(changes, text=claim_text(self.fields)))

    def sent(self, details):
        """Turn the claim into the send's record: every key of `details`, the protocol's fields winning;
        PATCH replaces the whole tag list, so it sends all of them (no CLAIM_TAG: it is no claim any more)."""
        self.fields = dict(details, **self.fields)
        self._update(SENT, timeEnd=int(time.time() * 1000), tags=record_tags(dict(details, outcome=SENT), self.delivery))
        self.ledger.delete_quietly(self.obsolete)
        try:
            # A copy on this host, so that a later run here can tell when Grafana's clean-up deleted the record.
            self.ledger.lock_ledger.record(self.ledger.local_key(self.delivery), dict(details),
                                           time.time() + LEASE_AFTER_SEND)
        except (LedgerError, OSError):
            pass  # Grafana holds the record that counts

    def failed(self, may_have_acted):
        """Release the claim, or keep it until its lease ends when Grafana may have sent anyway; returns a sentence."""
        if may_have_acted:
            try:
                self._update(FAILED)  # so that other runs can say why the delivery is held
            except GrafanaError:
                pass  # a claim left as it is holds the delivery just as long
            return ("The delivery stays claimed in Grafana (annotation %d) until %s so that no run repeats a send that"
                    " may have happened; a run after that sends it." % (self.id, self.until))
        return self.release() or "Its claim in the Grafana ledger was released, so the next run sends it."

    def release(self):
        """Delete the claim; None, or a sentence saying that the delivery stays held."""
        try:
            self.ledger.client.delete_annotation(self.id)
        except GrafanaError as exc:
            return ("This run's claim (annotation %d) could not be removed (%s), so it holds the delivery until %s."
                    % (self.id, exc.message, self.until))
        return None


class GrafanaLedger:
    """Deliveries as organization annotations in Grafana, shared by every runner: a claim protocol.

    reserve() claims (POST), lists the delivery's claims and records (GETs) and decides; the presumed
    winner waits SETTLE_SECONDS and lists both again, sends, then turns its claim into the send's
    record (PATCH) and deletes lapsed claims (DELETE). The local lock still serialises runs on one host.
    """

    # Its record of a send is an annotation of the outcome record's format: with history, the outcome record itself.
    records_outcomes = True

    def __init__(self, client, lock_ledger, runner=None, local_scope=""):
        self.client = client
        self.lock_ledger = lock_ledger
        # The host's lock and copy of records are keyed by delivery and Grafana: one delivery key sent to
        # dev, staging and prod from one host is three deliveries there, as it is in the three Grafanas.
        self.local_scope = local_scope
        if not runner:
            import uuid  # pylint: disable=import-outside-toplevel  # only to name a runner
            runner = "%s/%d/%s" % (socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])
        self.runner = runner

    def prepare(self):
        self.lock_ledger.prepare()

    def local_key(self, delivery):
        """The delivery's key in this host's ledger file."""
        if not self.local_scope:
            return delivery
        return hashlib.sha256(json.dumps([self.local_scope, delivery]).encode("utf-8")).hexdigest()

    def delivery_lock(self, delivery, deadline):
        return self.lock_ledger.delivery_lock(self.local_key(delivery), deadline)

    def listing(self, tags, limit, time_range=None, timings=None):
        """The annotations with `tags`; with `timings` (a list of the one claim that asks), how long it took is
        appended there: the ledger is shared by the threads of grafana_report_deliver, so it keeps no timings."""
        started = time.monotonic()
        found = self.client.find_annotations(tags, limit=limit, time_range=time_range)
        if timings is not None:
            timings.append(time.monotonic() - started)
        return found

    def claims(self, delivery, timings=None):
        return self.listing(delivery_tags(delivery) + [CLAIM_TAG], LISTING_LIMIT, timings=timings)

    def records(self, delivery, legacy_before_ms=None, upgrade=False, timings=None):
        """The delivery's send records, parsed; with `legacy_before_ms` also those of 0.2 made before then.

        0.2's records are found by their report tag, among history records of other outcomes; only
        annotations that began before the listing can match, so none written meanwhile pushes them out.
        With `upgrade`, each gets the outcome:sent tag (PATCH sends its whole tag list), so that history
        records written later, which sort before it, cannot crowd it out of that listing.
        """
        found = []
        if legacy_before_ms:
            legacy = [item for item in self.listing(delivery_tags(delivery) + [REPORT_TAG_KEY], RECORD_LIMIT,
                                                    (1, legacy_before_ms), timings)
                      if isinstance(item, dict) and is_send_record(item)]
            for item in legacy if upgrade else ():
                if SENT_TAG not in item["tags"] and _integer(item.get("id")) is not None:
                    try:
                        self.client.update_annotation(item["id"], {"tags": list(item["tags"]) + [SENT_TAG]})
                    except GrafanaError:
                        pass  # the next run upgrades it
            found += legacy
        found += self.listing(delivery_tags(delivery) + [SENT_TAG], RECORD_LIMIT, timings=timings)
        records = unique(found)
        for record in records:
            record["state"] = SENT  # whatever its text says, a record can only make runs skip
        return records

    def deleted_record(self, delivery, records):
        """[a record] when Grafana lists no record of a send that this host's ledger file has (the send
        happened, so it still counts here, with a note saying what became of Grafana's record), else []."""
        try:
            sent_at = None if records else self.lock_ledger.last_sent(self.local_key(delivery))
        except LedgerError:
            sent_at = None
        if sent_at is None:
            return []
        stamp = int(sent_at * 1000)
        return [dict(id=0, state=SENT, runner=self.runner, lease=0, created=stamp, updated=stamp, note=(
            "Grafana no longer lists the record of that send (deleted by Grafana's annotation clean-up,"
            " [annotations.api] max_age or max_annotations_to_keep, or by a person); this host's ledger file %s"
            " still has it, but runners on other hosts would send the delivery again." % self.lock_ledger.path))]

    def peek(self, delivery, delivery_key, min_interval):
        """Why a run now would skip, or None; reads only (check mode), with this host's clock for now."""
        now_ms = time.time() * 1000
        claims, records = unique(self.claims(delivery)), self.records(delivery, int(now_ms))
        return judge(claims, records + self.deleted_record(delivery, records), now_ms, delivery_key, min_interval)[0]

    def delete_quietly(self, ids):
        """Delete annotations that no longer count; one that stays is deleted by a later run."""
        for annotation_id in ids:
            try:
                self.client.delete_annotation(annotation_id)
            except GrafanaError:
                pass

    @contextlib.contextmanager
    def reserve(self, delivery, deadline, delivery_key, min_interval, retries=0):
        """Claim the delivery (the local lock held throughout); the reservation says whether this run sends."""
        with self.delivery_lock(delivery, deadline):
            yield self._claim(delivery, delivery_key, min_interval, retries)

    def _round(self, delivery, claim_id, started, timings):
        """This run's claims listings until one shows its own claim (bounded by attempts and the lease)."""
        listings = []
        for attempt in range(LISTING_ATTEMPTS):
            if attempt:
                time.sleep(RELIST_PAUSE * attempt)
            listings.append(self.claims(delivery, timings))
            if any(isinstance(item, dict) and item.get("id") == claim_id for item in listings[-1]) or (
                    time.monotonic() - started > LEASE_BEFORE_SEND):
                break
        return listings

    def _claim(self, delivery, delivery_key, min_interval, retries):
        lease = LEASE_BEFORE_SEND + self.client.longest_request(retries) + LEASE_AFTER_SEND
        started, claimed_at = time.monotonic(), time.time()
        fields = dict(v=CLAIM_VERSION, state=CLAIMED, runner=self.runner, lease=lease, delivery_key=delivery_key)
        claimed_ms = int(claimed_at * 1000)
        created = self.client.create_annotation({
            "time": claimed_ms, "timeEnd": CLAIM_ORDER_MS - claimed_ms,
            "tags": delivery_tags(delivery) + [CLAIM_TAG], "text": claim_text(fields)})
        claim_id = _integer(created.get("id")) if isinstance(created, dict) else None
        if claim_id is None:
            raise LedgerError("Grafana answered the ledger claim without an annotation id (%r); nothing was sent." % (created,))
        claim = _Claim(self, delivery, claim_id, fields, claimed_at)
        # How long each of this claim's listings took, for the message when they exceed the lease.
        stale, own_seen, timings = set(), False, []
        for settle in (False, True):
            if settle:
                time.sleep(SETTLE_SECONDS)
            try:
                listings = self._round(delivery, claim_id, started, timings)
                # Records are listed after the claims: a claim turned into a record meanwhile is in one or the other.
                records = self.records(delivery, None if settle else claimed_ms, upgrade=True, timings=timings)
            except GrafanaError as exc:
                raise LedgerError(_joined("The delivery ledger could not be read: %s Nothing was sent." % exc.message,
                                          claim.release()))
            decision = decide(listings, records + self.deleted_record(delivery, records), claim_id, delivery_key, min_interval, LISTING_LIMIT,
                              delivery_tags(delivery)[1])
            stale.update(decision.stale)
            if decision.problem and own_seen and not decision.own:
                decision = decision._replace(problem=(
                    "This run's claim (annotation %d) was listed, then no longer: something deleted it (Grafana's"
                    " annotation clean-up, [annotations.api] max_age or max_annotations_to_keep, or a person), so nothing"
                    " was sent." % claim_id))
            own_seen = own_seen or decision.own
            if decision.problem:
                self.delete_quietly(decision.stale)
                raise LedgerError(_joined(decision.problem, claim.release()))
            if decision.reason:
                return Reservation(_joined(decision.reason, claim.release()))
        took = time.monotonic() - started
        if took > LEASE_BEFORE_SEND:
            # Past this point the claim could lapse while the send is still under way.
            raise LedgerError(_joined(
                "The ledger's %d annotation listings took %.1fs (the slowest %.1fs), more than the %ds its lease allows"
                " before a send, so nothing was sent. Since Grafana 11.3 each listing waits for a search of the dashboards"
                " the credentials can read, which is slow on instances with many dashboards; this delivery cannot use"
                " ledger=grafana there until listings are faster." % (
                    len(timings), sum(timings), max(timings), LEASE_BEFORE_SEND),
                claim.release()))
        claim.obsolete = sorted(stale)
        return claim


class NullLedger:
    """The ledger of a delivery without delivery_key or min_interval: it remembers nothing, so it never skips and
    records nothing, and deliver() has one path for every delivery."""

    records_outcomes = False

    def prepare(self):
        """Nothing to prepare."""

    def peek(self, delivery, delivery_key, min_interval):  # pylint: disable=unused-argument
        return None

    @contextlib.contextmanager
    def reserve(self, delivery, deadline, delivery_key, min_interval, retries=0):  # pylint: disable=unused-argument
        yield Reservation(None)
