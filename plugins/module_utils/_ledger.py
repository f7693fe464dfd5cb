# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The delivery ledger: which deliveries succeeded when, so that a re-run does not mail twice."""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time

LEDGER_VERSION = 1
ANNOTATION_TAG = "reportops.grafana"
_INTERVAL_PART = re.compile(r"(\d+)([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LOCK_POLL = 0.1


class LedgerError(Exception):
    """The ledger cannot be read, written or locked; nothing was sent."""


def parse_interval(text):
    """Seconds in an interval such as '90s', '30m', '12h', '7d', '1h30m' or '3600'; None if invalid."""
    compact = "".join(str(text).split()).lower()
    if not compact or not re.fullmatch(r"(\d+[smhdw]?)+", compact):
        return None
    parts = _INTERVAL_PART.findall(compact)
    # A bare number is only allowed alone: '1h30' is a typo, not 1h30s.
    if len(parts) > 1 and any(unit == "" for dummy, unit in parts):
        return None
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    return seconds if seconds > 0 else None


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
        """The send failed; `may_have_acted` when Grafana may have sent it anyway (timeout, 5xx)."""


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
    def reserve(self, delivery, deadline, delivery_key, min_interval):
        """Hold the delivery for this run until the block ends; the reservation says whether to skip."""
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


class GrafanaLedger:
    """Deliveries as annotations in the Grafana organisation itself, shared by every runner.

    Reads and writes go through the client; there is no lock across hosts, only the local one.
    """

    def __init__(self, client, lock_ledger):
        self.client = client
        self.lock_ledger = lock_ledger

    def prepare(self):
        self.lock_ledger.prepare()

    def delivery_lock(self, delivery, deadline):
        return self.lock_ledger.delivery_lock(delivery, deadline)

    @staticmethod
    def tags(delivery):
        return [ANNOTATION_TAG, "delivery:%s" % delivery[:32]]

    def last_sent(self, delivery):
        found = self.client.find_annotations(self.tags(delivery))
        newest = max((annotation.get("time") or 0 for annotation in found), default=0)
        return newest / 1000.0 if newest else None

    def peek(self, delivery, delivery_key, min_interval):
        return skip_reason(self.last_sent(delivery), min_interval, delivery_key)

    @contextlib.contextmanager
    def reserve(self, delivery, deadline, delivery_key, min_interval):
        with self.delivery_lock(delivery, deadline):
            yield _RecordingReservation(self, delivery, deadline, self.peek(delivery, delivery_key, min_interval))

    def record(self, delivery, details, deadline):
        text = "reportops.grafana sent report %s (%s)" % (details["report_id"], details.get("delivery_key") or "no delivery key")
        self.client.create_annotation({"time": int(time.time() * 1000), "text": text,
                                       "tags": self.tags(delivery) + ["report:%s" % details["report_id"]]})
