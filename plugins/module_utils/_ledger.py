# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The delivery ledger: which deliveries succeeded when, so that a re-run does not mail twice."""

from __future__ import annotations

import collections
import contextlib
import datetime
import errno
import fcntl
import hashlib
import json
import os
import socket
import tempfile
import time
import uuid

from ansible_collections.reportops.grafana.plugins.module_utils._client import GrafanaError

LEDGER_VERSION = 1
ANNOTATION_TAG = "reportops.grafana"
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
    when = _iso(last_sent)
    if min_interval is None:
        return "delivery key '%s' was already sent at %s; a delivery key is sent once." % (delivery_key, when)
    age = (time.time() if now is None else now) - last_sent
    if age < min_interval:
        return "this delivery was last sent at %s, %s ago, within min_interval (%ds)." % (when, _duration(age), min_interval)
    return None


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
# A run claims the delivery with an annotation, lists the delivery's annotations and sends only
# if no recorded send rules it out and its claim has the lowest id among the live claims. Ids come
# from Grafana's database sequence, so the order needs no runner clock; leases are measured on
# Grafana's `created` stamps, and runner clocks only label the annotations for people.

CLAIM_VERSION = 1
CLAIMED, FAILED, SENT, RELEASED = "claimed", "failed", "sent", "released"
# Far more than the live claims of one delivery can be (one per runner started within a lease); a
# full page may hide a claim, so it fails closed rather than guess.
LISTING_LIMIT = 500
# Seconds a lease allows before the send starts (claim, list, settle, list) and after it ends (record).
LEASE_BEFORE_SEND = 10
LEASE_AFTER_SEND = 10
# Seconds by which the clocks of Grafana instances (HA) and runners may differ.
CLOCK_SKEW = 10
# A database can hand out an id before it commits the row: the presumed winner lists again after this.
SETTLE_SECONDS = 1.0
READ_PERMISSION = "annotations:read with scope annotations:type:organization"

# What a run's listing says: `reason` to skip (None: send), `problem` when the listing cannot be trusted
# (fail closed), `stale` ids that no longer count, `record` the id of the newest recorded send.
Decision = collections.namedtuple("Decision", "reason problem stale record")


def claim_text(fields):
    """An annotation's text: a line for people reading Grafana, then a JSON line for the protocol."""
    what = "'%s'" % fields["delivery_key"] if fields.get("delivery_key") else "(no delivery key)"
    return "reportops.grafana: delivery %s %s by %s\n%s" % (
        what, fields["state"], fields["runner"], json.dumps(fields, sort_keys=True))


def _integer(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_claim(annotation):
    """A ledger annotation as a dict: id, state, runner, lease (s), created and updated (Grafana's clock, ms)."""
    fields = {}
    for line in (annotation.get("text") or "").splitlines():
        if line.startswith("{"):
            try:
                fields = json.loads(line)
            except ValueError:
                fields = {}
    fields = fields if isinstance(fields, dict) else {}
    annotation_id, lease, state = _integer(annotation.get("id")), _integer(fields.get("lease")), fields.get("state")
    created = _integer(annotation.get("created")) or _integer(annotation.get("time")) or 0
    if state not in (CLAIMED, FAILED, SENT, RELEASED) or annotation_id is None or (
            state in (CLAIMED, FAILED) and not (lease and lease > 0)):
        # A record written before the claim protocol (one annotation after each send) or a text changed
        # by hand counts as a send: that can only make runs skip, never send twice.
        state, lease = SENT, 0
    return dict(id=annotation_id, state=state, runner=str(fields.get("runner") or "an unknown runner"), lease=lease,
                created=created, updated=_integer(annotation.get("updated")) or created)


def lease_end(claim):
    """When a claim lapses, in ms on Grafana's clock."""
    return claim["created"] + (claim["lease"] + CLOCK_SKEW) * 1000


def held_reason(holder):
    since, until = _iso(holder["created"] / 1000.0), _iso(lease_end(holder) / 1000.0)
    if holder["state"] == FAILED:
        return ("another runner (%s) claimed this delivery at %s and its send failed in a way Grafana may still have acted"
                " on (a timeout or a 5xx), so the delivery is held until %s rather than repeated blindly."
                % (holder["runner"], since, until))
    return ("another runner (%s) holds this delivery since %s (Grafana's clock) and sends it; its claim lapses at %s"
            " unless it records the send." % (holder["runner"], since, until))


def judge(claims, now_ms, delivery_key, min_interval, own_id=None):
    """The protocol's rule on one delivery's parsed annotations at `now_ms`: (skip reason or None, stale ids, newest record).

    The newest recorded send decides delivery_key-once and min_interval. Otherwise the lowest id among
    the live claims (neither released nor past their lease) holds the delivery; `own_id` is the
    deciding run's claim, and without one (check mode) any live claim means skip. Stale: released or
    lapsed claims and records older than the newest, which any run may delete.
    """
    records = [claim for claim in claims if claim["state"] == SENT]
    newest = max(records, key=lambda claim: (claim["updated"], claim["id"] or 0), default=None)
    stale = [claim["id"] for claim in records if claim is not newest and claim["id"] is not None]
    live = []
    for claim in claims:
        if claim["state"] in (CLAIMED, FAILED) and now_ms < lease_end(claim):
            live.append(claim)
        elif claim["state"] != SENT and claim["id"] != own_id:
            stale.append(claim["id"])
    reason = skip_reason(newest["updated"] / 1000.0 if newest else None, min_interval, delivery_key, now_ms / 1000.0)
    holder = min(live, key=lambda claim: claim["id"], default=None)
    if reason is None and holder is not None and holder["id"] != own_id:
        reason = held_reason(holder)
    return reason, sorted(stale), newest["id"] if newest else None


def decide(annotations, own_id, delivery_key, min_interval, limit, tag=""):
    """The Decision of the run holding claim `own_id`, from the listing Grafana gave it (asked with `limit`)."""
    claims = [parse_claim(annotation) for annotation in annotations if isinstance(annotation, dict)]
    own = [claim for claim in claims if claim["id"] == own_id]
    # "Now" is this run's own claim's stamp: Grafana's clock, never later than the real now, so a
    # lease can only look younger than it is.
    now_ms = own[0]["created"] if own else max([claim["created"] for claim in claims] or [0])
    reason, stale, record = judge(claims, now_ms, delivery_key, min_interval, own_id)
    problem = None
    if len(annotations) >= limit:
        problem = ("Grafana listed %d annotations of this delivery, as many as the ledger asks for, so a claim may be"
                   " hidden and nothing was sent; runs delete stale ones (with annotations:delete), or delete old"
                   " annotations tagged %s and run again." % (len(annotations), tag or "with this delivery's tag"))
    elif not own:
        problem = ("Grafana did not list this run's own claim (annotation %s) back, so the delivery ledger cannot be read"
                   " and nothing was sent: the credentials need %s (organization annotations), not only dashboards'."
                   % (own_id, READ_PERMISSION))
    return Decision(reason, problem, stale, record)


def _joined(sentence, note):
    return "%s %s" % (sentence, note) if note else sentence


class _Claim(Reservation):
    """This run's claim on a delivery, won: the run sends, then records the send or the failure on the claim."""

    def __init__(self, ledger, delivery, annotation_id, fields, claimed_at):
        super().__init__(None)
        self.ledger, self.delivery, self.id, self.fields = ledger, delivery, annotation_id, fields
        # For messages only: this host's clock.
        self.until = _iso(claimed_at + fields["lease"] + CLOCK_SKEW)
        self.obsolete = []

    def _update(self, state, **changes):
        self.fields = dict(self.fields, state=state)
        self.ledger.client.update_annotation(self.id, dict(changes, text=claim_text(self.fields)))

    def sent(self, details):
        now = time.time()
        self.fields["report_id"] = details["report_id"]
        self._update(SENT, timeEnd=int(now * 1000),
                     tags=self.ledger.tags(self.delivery) + ["report:%s" % details["report_id"]])
        # Only the newest record counts: older records and dead claims go, so the listing stays short.
        self.ledger.delete_quietly(self.obsolete)

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

    reserve() claims (POST), lists the delivery's annotations (GET) and decides; the presumed winner
    waits SETTLE_SECONDS and lists again, sends, then records the send on its claim (PATCH) and
    deletes what no longer counts (DELETE). The local lock still serialises runs on one host.
    """

    def __init__(self, client, lock_ledger, runner=None):
        self.client = client
        self.lock_ledger = lock_ledger
        self.runner = runner or "%s/%d/%s" % (socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])

    def prepare(self):
        self.lock_ledger.prepare()

    def delivery_lock(self, delivery, deadline):
        return self.lock_ledger.delivery_lock(delivery, deadline)

    @staticmethod
    def tags(delivery):
        return [ANNOTATION_TAG, "delivery:%s" % delivery[:32]]

    def listing(self, delivery):
        found = self.client.find_annotations(self.tags(delivery), limit=LISTING_LIMIT)
        if not isinstance(found, list):
            raise LedgerError("Grafana answered the annotation listing with %s, not a list; nothing was sent."
                              % type(found).__name__)
        return found

    def peek(self, delivery, delivery_key, min_interval):
        """Why a run now would skip, or None; reads only (check mode), with this host's clock for now."""
        claims = [parse_claim(annotation) for annotation in self.listing(delivery) if isinstance(annotation, dict)]
        return judge(claims, time.time() * 1000, delivery_key, min_interval)[0]

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

    def _claim(self, delivery, delivery_key, min_interval, retries):
        lease = LEASE_BEFORE_SEND + self.client.longest_request(retries) + LEASE_AFTER_SEND
        started, claimed_at = time.monotonic(), time.time()
        fields = dict(v=CLAIM_VERSION, state=CLAIMED, runner=self.runner, lease=lease, delivery_key=delivery_key)
        created = self.client.create_annotation({
            "time": int(claimed_at * 1000), "timeEnd": int((claimed_at + lease) * 1000),
            "tags": self.tags(delivery), "text": claim_text(fields)})
        claim_id = _integer(created.get("id")) if isinstance(created, dict) else None
        if claim_id is None:
            raise LedgerError("Grafana answered the ledger claim without an annotation id (%r); nothing was sent." % (created,))
        claim = _Claim(self, delivery, claim_id, fields, claimed_at)
        for settle in (False, True):
            if settle:
                time.sleep(SETTLE_SECONDS)
            try:
                decision = decide(self.listing(delivery), claim_id, delivery_key, min_interval, LISTING_LIMIT,
                                  self.tags(delivery)[1])
            except GrafanaError as exc:
                raise LedgerError(_joined("The delivery ledger could not be read: %s Nothing was sent." % exc.message,
                                          claim.release()))
            if decision.problem:
                self.delete_quietly(decision.stale)
                raise LedgerError(_joined(decision.problem, claim.release()))
            if decision.reason:
                return Reservation(_joined(decision.reason, claim.release()))
        took = time.monotonic() - started
        if took > LEASE_BEFORE_SEND:
            # Past this point the claim could lapse while the send is still under way.
            raise LedgerError(_joined("The ledger's requests took %.0fs, more than the %ds its lease allows before a send,"
                                      " so nothing was sent; try again." % (took, LEASE_BEFORE_SEND), claim.release()))
        claim.obsolete = decision.stale + ([decision.record] if decision.record is not None else [])
        return claim
