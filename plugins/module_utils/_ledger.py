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
import re
import socket
import tempfile
import time

from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import (
    CLAIM_TAG,
    REPORT_TAG_KEY,
    SENT_TAG,
    UNCERTAIN,
    UNCERTAIN_TAG,
    claim_text,
    delivery_tags,
    is_send_record,
    json_fields,
    once_each,
    record_tags,
    utc_iso,
)
from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError

# Version 2 adds a delivery's uncertain send ("uncertain": {"at", "reason"}) and allows an entry without "sent_at"
# (never confirmed). A file is written as version 1 while no entry is uncertain, so that older versions of the
# collection still read it; they refuse a version 2 file (and send nothing) rather than miss a held delivery.
LEDGER_VERSION = 2
READABLE_VERSIONS = (1, 2)
_LOCK_POLL = 0.1
# How a person sends a held delivery anyway (the option of the modules that send, and the role's variable).
RESEND_HINT = "run with resend_uncertain: true (the role: -e report_delivery_resend_uncertain=true)"


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


def uncertain_hold(uncertain_at, min_interval, now=None):
    """Whether a send that may have reached Grafana at `uncertain_at` (epoch seconds) still holds its delivery: within
    `min_interval` of it, or for good without one (a delivery key is sent once, and it may have been)."""
    if uncertain_at is None:
        return False
    return min_interval is None or (time.time() if now is None else now) - uncertain_at < min_interval


def uncertain_reason(uncertain_at, reason, min_interval, delivery_key, remedy, now=None):
    """Why a delivery whose last send may have reached Grafana is not sent again, and how to send it anyway.

    `reason` is what the send met (its error message), `remedy` what to delete by hand to forget it.
    """
    when = utc_iso(uncertain_at)
    age = (time.time() if now is None else now) - uncertain_at
    if min_interval is None:
        rule = ("a delivery key is sent once, so delivery key '%s' stays held" % delivery_key if delivery_key
                else "it stays held")
    else:
        rule = "it is held within min_interval (%s) of that attempt, until %s" % (
            _interval(min_interval), utc_iso(uncertain_at + min_interval))
    return ("this delivery's send at %s (%s ago) may have reached Grafana (%s); %s, rather than risk mailing it twice."
            " To send it anyway, %s, or %s." % (when, _duration(age), _first_sentence(reason), rule, RESEND_HINT, remedy))


def uncertain_note(where, at, min_interval, delivery_key):
    """The sentence the failed run adds: the ledger remembers the send as uncertain, and what the next run does."""
    if min_interval is None:
        later = "no later run sends it again%s" % (" (delivery key '%s' is sent once)" % delivery_key if delivery_key else "")
    else:
        later = "no run sends it again before %s (min_interval %s from this attempt)" % (
            utc_iso(at + min_interval), _interval(min_interval))
    return ("The delivery ledger remembers this send as uncertain (%s): %s unless it runs with resend_uncertain: true."
            % (where, later))


def _interval(seconds):
    """An interval as the options write it, exactly: 6d, 1h30m, 90s as 1m30s."""
    parts, seconds = [], int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(parts) or "0s"


def _first_sentence(reason):
    """The first sentence of an error message, without its full stop: what the send met, for a message that quotes it."""
    text = " ".join(str(reason or "no reason recorded").split())
    first = re.match(r"^(.+?[.!?])(?=\s+[A-Z]|$)", text)
    text = (first.group(1) if first else text).rstrip(".")
    return text if len(text) <= 300 else text[:297] + "..."


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
    """A ledger's hold on one delivery: `skip_reason` (None to send), then `sent` or `failed` once.

    What the ledger knew when it decided, for the outcome record of a skip: `last_sent`, when the delivery was last
    confirmed sent (epoch seconds, or None); `last_uncertain`, when a send of it last may have reached Grafana (a
    timeout, a dropped connection, a proxy's 5xx) without a confirmed send since; `held`, whether that uncertain send
    is why it is skipped. `uncertain` is set by failed() when the ledger remembered this run's send as uncertain.
    """

    def __init__(self, skip_reason_text, last_sent=None, last_uncertain=None, held=False):
        self.skip_reason = skip_reason_text
        self.last_sent = last_sent
        self.last_uncertain = last_uncertain
        self.held = held
        self.uncertain = False

    def sent(self, details):
        """Record a confirmed send."""

    def failed(self, may_have_acted, details=None):
        """The send failed; `may_have_acted` when Grafana may have sent it anyway (timeout, dropped connection, a
        proxy's 5xx). `details` are the fields of its record (report_id, delivery_key, message: what the send met).

        Returns None, or a sentence for the failure's message (what the ledger did with the delivery).
        """
        return None


class _RecordingReservation(Reservation):
    """Records a confirmed send, or a send that may have happened, in its file ledger."""

    def __init__(self, ledger, delivery, deadline, verdict, delivery_key, min_interval):
        super().__init__(verdict.skip_reason, verdict.last_sent, verdict.last_uncertain, verdict.held)
        self.ledger, self.delivery, self.deadline = ledger, delivery, deadline
        self.delivery_key, self.min_interval = delivery_key, min_interval

    def sent(self, details):
        self.ledger.record(self.delivery, details, self.deadline)

    def failed(self, may_have_acted, details=None):
        if not may_have_acted:
            return None
        at = time.time()
        try:
            self.ledger.remember_uncertain(self.delivery, details or {}, at, self.deadline)
        except (LedgerError, OSError) as exc:
            return ("The delivery ledger could not remember this send as uncertain (%s), so the next run may send it again."
                    % exc)
        self.uncertain = True
        return uncertain_note("ledger file %s, entry %s" % (self.ledger.path, self.delivery), at, self.min_interval,
                              self.delivery_key)


class FileLedger:
    """Deliveries in a JSON file on this host; runs that share the file serialise per delivery.

    An entry holds `sent_at`, when the delivery was last confirmed sent, and `uncertain` ({"at", "reason"}) while its
    last send may have reached Grafana without a confirmed send since (version 2).
    """

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
        return entry.get("sent_at") if entry else None

    def verdict(self, delivery, delivery_key, min_interval, resend_uncertain=False, now=None):
        """A Reservation that only says what the ledger would decide now (skip reason, last sent, held)."""
        entry = self._read().get(delivery) or {}
        sent_at, uncertain = entry.get("sent_at"), entry.get("uncertain") or {}
        last_uncertain = uncertain.get("at")
        if uncertain_hold(last_uncertain, min_interval, now) and not resend_uncertain:
            remedy = "delete the entry %s from the ledger file %s" % (delivery, self.path)
            return Reservation(uncertain_reason(last_uncertain, uncertain.get("reason"), min_interval, delivery_key, remedy, now),
                               sent_at, last_uncertain, held=True)
        return Reservation(skip_reason(sent_at, min_interval, delivery_key, now), sent_at, last_uncertain)

    def look(self, delivery, delivery_key, min_interval, resend_uncertain=False):
        """What a run now would decide, as a Reservation that holds nothing; reads only (check mode)."""
        return self.verdict(delivery, delivery_key, min_interval, resend_uncertain)

    @contextlib.contextmanager
    def reserve(self, delivery, deadline, delivery_key, min_interval, retries=0, resend_uncertain=False):
        """Hold the delivery for this run until the block ends; the reservation says whether to skip.

        `retries` (of the send) matters only to GrafanaLedger's lease; the lock here is held across the send.
        """
        with self.delivery_lock(delivery, deadline):
            yield _RecordingReservation(self, delivery, deadline,
                                        self.verdict(delivery, delivery_key, min_interval, resend_uncertain),
                                        delivery_key, min_interval)

    def record(self, delivery, details, deadline):
        """Add a confirmed send, which replaces what the entry held (an uncertain send too)."""
        self._change(lambda deliveries: deliveries.__setitem__(delivery, dict(details, sent_at=time.time())), deadline)

    def remember_uncertain(self, delivery, details, at, deadline):
        """Mark the delivery's send at `at` as one that may have reached Grafana; its last confirmed send is kept."""
        def change(deliveries):
            entry = dict(deliveries.get(delivery) or {})
            entry.update((name, details[name]) for name in ("report_id", "delivery_key") if name in details)
            entry["uncertain"] = dict(at=at, reason=details.get("message"))
            deliveries[delivery] = entry
        self._change(change, deadline)

    def _change(self, change, deadline):
        """Apply `change` to the deliveries under the file's lock; the file is replaced atomically, so a crash leaves
        the old or the new one. Version 1 while no entry is uncertain (older versions of the collection read it)."""
        with _flock(self.path + ".lock", True, deadline, "the ledger file"):
            deliveries = self._read()
            change(deliveries)
            version = LEDGER_VERSION if any("uncertain" in entry for entry in deliveries.values()) else 1
            content = json.dumps({"version": version, "deliveries": deliveries}, indent=1, sort_keys=True)
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
        if not isinstance(deliveries, dict) or ledger.get("version") not in READABLE_VERSIONS or not all(
                _valid_entry(entry, ledger.get("version")) for entry in deliveries.values()):
            raise LedgerError("The delivery ledger %s does not have the expected content (version %s); repair or move it:"
                              " it is never reset automatically, and nothing was sent."
                              % (self.path, " or ".join(str(version) for version in READABLE_VERSIONS)))
        return deliveries


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _valid_entry(entry, version):
    """Version 1: a confirmed send (sent_at). Version 2 also: an uncertain send ({"at", "reason"}), with or without one."""
    if not isinstance(entry, dict):
        return False
    uncertain = entry.get("uncertain")
    if version == 1 or uncertain is None:
        return "uncertain" not in entry and _number(entry.get("sent_at"))
    return isinstance(uncertain, dict) and _number(uncertain.get("at")) and (
        "sent_at" not in entry or _number(entry["sent_at"]))


# -- The Grafana ledger: a claim protocol on organization annotations -------------------------
#
# A run claims the delivery with an annotation, lists the delivery's claims and then its records of
# sends, and sends only if no record rules it out and its claim has the lowest id among the live
# claims, in two listings a settle time apart. Ids come from Grafana's database sequence, so the
# order needs no runner clock; leases are measured on Grafana's `created` stamps.
#
# Grafana's listing is not one complete, atomic pass, so no decision rests on it being complete:
# - Claims and records are found by different tags (CLAIM_TAG, SENT_TAG), so claims never crowd
#   records out of a listing. A send that may have reached Grafana turns its claim into a record of its own tag
#   (UNCERTAIN_TAG), listed after the records of sends, so that neither crowds the other out either.
# - Since Grafana 11.3 a listing counts its rows, searches dashboards, then fetches at most that
#   count ordered by timeEnd descending: rows added in between push out those with the lowest
#   timeEnd. A claim's timeEnd falls as its claim time rises (CLAIM_ORDER_MS - time), so what is
#   pushed out are the newest claims, never older ones; a listing without the run's own claim is
#   incomplete and asked again, never read as a permission problem.
# - Tags are stored after the row (a higher id can be listed before a lower one): the settle
#   listing sees a claim that got its id earlier but its tags late.

CLAIM_VERSION = 1
# FAILED: a claim whose send may have reached Grafana, as versions before the uncertain record kept it (until its lease).
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
# `held`: the reason is a send that may have reached Grafana (an uncertain record).
Decision = collections.namedtuple("Decision", "reason problem stale own held")
# What judge() found: the skip reason (None: send), the stale claim ids, whether an uncertain send holds the delivery.
Judgement = collections.namedtuple("Judgement", "reason stale held")


def _integer(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_claim(annotation):
    """A ledger annotation as a dict: id, state, runner, lease (s), created and updated (Grafana's clock, ms)."""
    fields = json_fields(annotation.get("text"))
    annotation_id, lease, state = _integer(annotation.get("id")), _integer(fields.get("lease")), fields.get("state")
    created = _integer(annotation.get("created")) or _integer(annotation.get("time")) or 0
    if state not in (CLAIMED, FAILED, SENT, RELEASED, UNCERTAIN) or annotation_id is None or (
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


def newest(records):
    """The newest of parsed records by Grafana's `updated` stamp, or None."""
    return max(records, key=lambda record: (record["updated"], record["id"]), default=None)


def last_known(records, uncertain):
    """(when the delivery was last sent, when a send of it last may have reached Grafana with no confirmed send since),
    each in epoch seconds on Grafana's clock or None, from its parsed records of sends and of uncertain sends."""
    sent, doubt = newest(records), newest(uncertain)
    if doubt is not None and sent is not None and (sent["updated"], sent["id"]) > (doubt["updated"], doubt["id"]):
        doubt = None  # a confirmed send since replaces it
    return (sent["updated"] / 1000.0 if sent else None), (doubt["updated"] / 1000.0 if doubt else None)


def uncertain_annotation_remedy(record):
    return ("delete annotation %d (tagged %s) in Grafana, after which the delivery's last confirmed send decides"
            % (record["id"], UNCERTAIN_TAG))


def judge(claims, records, now_ms, delivery_key, min_interval, own_id=None, uncertain=(), resend_uncertain=False):
    """The protocol's rule at `now_ms` on one delivery's parsed claims, records and uncertain records: a Judgement
    (skip reason or None, stale claim ids, whether an uncertain send holds it).

    The newest recorded send decides delivery_key-once and min_interval; an uncertain send newer than it holds the
    delivery as a send would (min_interval counted from it), unless `resend_uncertain`. Otherwise the lowest id among
    the live claims (neither released nor past their lease) holds the delivery; `own_id` is the deciding run's claim,
    and without one (check mode) any live claim means skip. Stale: released or lapsed claims, which any run may
    delete. Records are never deleted: they are the delivery's history.
    """
    latest = newest(records)
    live, stale = [], []
    for claim in claims:
        if claim["state"] in (CLAIMED, FAILED) and now_ms < lease_end(claim):
            # A run decides only on the claims up to its own: one above it never holds the delivery for it,
            # even when a listing that lost the run's own claim makes it look like the lowest.
            if own_id is None or claim["id"] <= own_id:
                live.append(claim)
        elif claim["state"] not in (SENT, UNCERTAIN) and claim["id"] != own_id:
            stale.append(claim["id"])
    doubt = newest(uncertain) if last_known(records, uncertain)[1] is not None else None
    if doubt is not None and not resend_uncertain and uncertain_hold(doubt["updated"] / 1000.0, min_interval, now_ms / 1000.0):
        reason = uncertain_reason(doubt["updated"] / 1000.0, doubt.get("reason"), min_interval, delivery_key,
                                  uncertain_annotation_remedy(doubt), now_ms / 1000.0)
        return Judgement(reason, sorted(stale), True)
    reason = skip_reason(latest["updated"] / 1000.0 if latest else None, min_interval, delivery_key, now_ms / 1000.0)
    if reason and latest.get("note"):
        reason = "%s %s" % (reason, latest["note"])
    holder = min(live, key=lambda claim: claim["id"], default=None)
    if reason is None and holder is not None and holder["id"] != own_id:
        reason = held_reason(holder)
    return Judgement(reason, sorted(stale), False)


def decide(claim_listings, records, own_id, delivery_key, min_interval, limit=LISTING_LIMIT, tag="", uncertain=(),
           resend_uncertain=False):
    """The Decision of the run holding claim `own_id` from one round: the claims listings Grafana gave it
    (the last one counts; earlier ones lacked its own claim), the send records and uncertain records seen so far
    (parsed)."""
    claims = unique(claim_listings[-1]) if claim_listings else []
    own = [claim for claim in claims if claim["id"] == own_id]
    # "Now" is this run's own claim's stamp: Grafana's clock, never later than the real now, so a
    # lease can only look younger than it is.
    now_ms = own[0]["created"] if own else max([claim["created"] for claim in claims + records] or [0])
    reason, stale, held = judge(claims, records, now_ms, delivery_key, min_interval, own_id, uncertain, resend_uncertain)
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
    return Decision(reason, problem, stale, bool(own), held)


def _joined(sentence, note):
    return "%s %s" % (sentence, note) if note else sentence


class _Claim(Reservation):
    """This run's claim on a delivery, won: the run sends, then records the send or the failure on the claim."""

    def __init__(self, ledger, delivery, annotation_id, fields, claimed_at, min_interval=None):
        super().__init__(None)
        self.ledger, self.delivery, self.id, self.fields = ledger, delivery, annotation_id, fields
        self.min_interval = min_interval
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

    def failed(self, may_have_acted, details=None):
        """Release the claim; or, when Grafana may have sent anyway, turn it into the record of an uncertain send
        (tagged UNCERTAIN_TAG, with `details` and the send's message as its reason), which holds the delivery as a
        record of a send would. Returns a sentence."""
        if not may_have_acted:
            return self.release() or "Its claim in the Grafana ledger was released, so the next run sends it."
        details = dict(details or {}, outcome=UNCERTAIN)
        at = time.time()
        self.fields = dict(dict(details, **self.fields), outcome=UNCERTAIN, reason=details.get("message"))
        try:
            self._update(UNCERTAIN, timeEnd=int(at * 1000), tags=record_tags(details, self.delivery))
        except GrafanaError as exc:
            return ("The delivery ledger could not record this send as uncertain in Grafana (%s): its claim (annotation %d)"
                    " holds the delivery until %s, and a run after that sends it again." % (exc.message, self.id, self.until))
        self.uncertain = True
        self.ledger.delete_quietly(self.obsolete)
        return uncertain_note("Grafana annotation %d, tagged %s" % (self.id, UNCERTAIN_TAG), at, self.min_interval,
                              self.fields.get("delivery_key"))

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

    def uncertain_records(self, delivery, timings=None):
        """The delivery's records of sends that may have reached Grafana, parsed, each with its `reason`."""
        found = []
        for item in self.listing(delivery_tags(delivery) + [UNCERTAIN_TAG], RECORD_LIMIT, timings=timings):
            if isinstance(item, dict):
                fields = json_fields(item.get("text"))
                found.append(dict(item, reason=fields.get("reason") or fields.get("message")))
        records = once_each(found, lambda item: dict(parse_claim(item), reason=item["reason"]))
        for record in records:
            record["state"] = UNCERTAIN
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

    def look(self, delivery, delivery_key, min_interval, resend_uncertain=False):
        """What a run now would decide, as a Reservation that holds nothing; reads only (check mode), with this host's
        clock for now."""
        now_ms = time.time() * 1000
        claims, records = unique(self.claims(delivery)), self.records(delivery, int(now_ms))
        records += self.deleted_record(delivery, records)
        uncertain = self.uncertain_records(delivery)
        judgement = judge(claims, records, now_ms, delivery_key, min_interval, uncertain=uncertain,
                          resend_uncertain=resend_uncertain)
        return Reservation(judgement.reason, *last_known(records, uncertain), held=judgement.held)

    def delete_quietly(self, ids):
        """Delete annotations that no longer count; one that stays is deleted by a later run."""
        for annotation_id in ids:
            try:
                self.client.delete_annotation(annotation_id)
            except GrafanaError:
                pass

    @contextlib.contextmanager
    def reserve(self, delivery, deadline, delivery_key, min_interval, retries=0, resend_uncertain=False):
        """Claim the delivery (the local lock held throughout); the reservation says whether this run sends."""
        with self.delivery_lock(delivery, deadline):
            yield self._claim(delivery, delivery_key, min_interval, retries, resend_uncertain)

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

    def _claim(self, delivery, delivery_key, min_interval, retries, resend_uncertain=False):  # pylint: disable=too-many-locals
        lease = LEASE_BEFORE_SEND + self.client.longest_send(retries) + LEASE_AFTER_SEND
        started, claimed_at = time.monotonic(), time.time()
        fields = dict(v=CLAIM_VERSION, state=CLAIMED, runner=self.runner, lease=lease, delivery_key=delivery_key)
        claimed_ms = int(claimed_at * 1000)
        created = self.client.create_annotation({
            "time": claimed_ms, "timeEnd": CLAIM_ORDER_MS - claimed_ms,
            "tags": delivery_tags(delivery) + [CLAIM_TAG], "text": claim_text(fields)})
        claim_id = _integer(created.get("id")) if isinstance(created, dict) else None
        if claim_id is None:
            raise LedgerError("Grafana answered the ledger claim without an annotation id (%r); nothing was sent." % (created,))
        claim = _Claim(self, delivery, claim_id, fields, claimed_at, min_interval)
        # How long each of this claim's listings took, for the message when they exceed the lease.
        stale, own_seen, timings = set(), False, []
        for settle in (False, True):
            if settle:
                time.sleep(SETTLE_SECONDS)
            try:
                listings = self._round(delivery, claim_id, started, timings)
                # Records are listed after the claims: a claim turned into a record meanwhile is in one or the other.
                records = self.records(delivery, None if settle else claimed_ms, upgrade=True, timings=timings)
                records += self.deleted_record(delivery, records)
                # Uncertain records last, by the presumed winner only: the settle round decides whether it sends, and
                # a claim turned into an uncertain record after its claims listing is in this one.
                uncertain = self.uncertain_records(delivery, timings) if settle else []
            except GrafanaError as exc:
                raise LedgerError(_joined("The delivery ledger could not be read: %s Nothing was sent." % exc.message,
                                          claim.release()))
            decision = decide(listings, records, claim_id, delivery_key, min_interval, LISTING_LIMIT,
                              delivery_tags(delivery)[1], uncertain, resend_uncertain)
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
                return Reservation(_joined(decision.reason, claim.release()), *last_known(records, uncertain),
                                   held=decision.held)
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

    def look(self, delivery, delivery_key, min_interval, resend_uncertain=False):  # pylint: disable=unused-argument
        return Reservation(None)

    @contextlib.contextmanager
    def reserve(self, delivery, deadline, delivery_key, min_interval, retries=0, resend_uncertain=False):  # pylint: disable=unused-argument
        yield Reservation(None)
