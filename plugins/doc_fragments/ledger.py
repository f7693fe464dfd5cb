# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The delivery ledger options of the modules that send (grafana_report_send, grafana_report_deliver and
    # grafana_report_fleet); the argument spec that matches them is _delivery.LEDGER_ARGUMENT_SPEC.
    DOCUMENTATION = r"""
options:
  ledger:
    description:
      - Where the delivery ledger lives. Used only by a delivery with a delivery key or a minimum interval.
      - V(file) keeps it in O(ledger_path) on the host that runs the module.
      - "Either ledger also remembers a send that may have reached Grafana although it failed (a timeout, a dropped
        connection, HTTP 502 or 504, a 500 page that is not Grafana's): the run fails for that delivery and says so, and
        later runs hold the delivery as if it had been sent (see O(resend_uncertain))."
      - V(grafana) keeps it as organization annotations in Grafana itself, for runners that share no file system,
        such as AWX jobs in fresh containers. A local lock folder beside O(ledger_path) still serialises runs on one host.
      - "How V(grafana) works: a run adds a claim annotation (tags C(reportops.grafana), C(delivery:<hash>) and
        C(ledger:claim)), lists the delivery's claims, then its records of sends (tags C(reportops.grafana),
        C(delivery:<hash>) and C(outcome:sent)), and sends only if no record rules it out and its claim has the lowest
        annotation id among the live claims; a presumed winner lists both once more after 1 second before it sends.
        Every other run skips with C(changed=false) and a message naming the runner that holds the delivery or the
        record, and deletes its claim. The winner turns its claim into the record of the send (tags
        C(outcome:sent) and C(report:<id>)), which counts for the delivery key and the minimum interval, deletes lapsed
        claims and keeps older records as the delivery's history. Records written by version 0.2 (tag C(report:<id>),
        no C(outcome) tag) still count; history records of failed or skipped deliveries do not."
      - "Claims and records are found by different tags, so no number of claims can hide a record. A claim's C(timeEnd)
        falls as its time rises, so that a listing Grafana cuts short drops the newest claims first, never an older
        one. A listing of the claims that lacks the run's own claim is asked again up to 3 times (after 0.2, 0.4 and
        0.6 seconds); a run decides only on claims up to its own."
      - "What V(grafana) guarantees, Grafana before 11.3: at most one send per delivery at a time (with a delivery key
        alone, one send while its record exists; with a minimum interval, one per interval), however many runners
        start together, provided that Grafana stores an annotation's tags within 1 second of giving it its id, that
        the clocks of Grafana's instances differ by less than 10 seconds, and that the record of a send is accepted
        within 10 seconds of the send. Ordering uses Grafana's annotation ids and lease ends Grafana's C(created)
        stamps."
      - "Grafana 11.3 and later list in two steps (a count, a search of the dashboards the credentials can read, then
        the annotations cut to the count), so annotations added meanwhile push others out of the answer. The same
        guarantee holds, provided in addition that the runners' clocks agree (NTP): a claim is pushed out only by one
        that carries an earlier time. A run that does not finish its listings within 10 seconds of its claim fails
        before sending and says that the dashboard search is the cause; that happens when one listing takes about
        1.3 seconds or more (instances with very many dashboards)."
      - "Retention: Grafana's annotation clean-up (C([annotations.api] max_age) and C(max_annotations_to_keep), run every
        10 minutes and counted across all organisations) deletes the ledger's records and claims like any API
        annotation. With C(max_age) set, a delivery key without a minimum interval is sent once per retention period,
        not once ever, and a minimum interval longer than C(max_age) acts as C(max_age); a host that sent keeps a copy
        in O(ledger_path) and, while that copy exists, skips the delivery saying that Grafana's record was deleted.
        C(max_annotations_to_keep) must stay well above the API annotations the whole instance writes within one
        lease, or a live claim can be deleted and a second runner may send. Both default to 0 (keep all); for one send
        ever, leave C(max_age) at 0, or use O(ledger=file) for deliveries that must outlive the retention period."
      - "Failures with V(grafana): a claim has a lease of the connection's C(timeout) x (O(retries) + 1), plus 30
        seconds per retry, plus 20 seconds, plus 10 seconds of clock tolerance. A runner that dies holds the delivery until its lease ends; the
        next run after that sends. A send Grafana did not act on (no connection, a 4xx, a 500 with Grafana's own error)
        deletes the claim, so the next run sends. A send that may have happened (a timeout, a dropped connection, 502,
        504, a 500 page that is not Grafana's) turns the claim into a record of an uncertain send (tags
        C(outcome:uncertain) and C(report:<id>)), which holds the delivery as a record of a send would (see
        O(resend_uncertain)); runs list these records by their own tag, after the records of sends. If that record
        cannot be written, the claim holds the delivery until its lease ends and a run after that sends again. Claims
        left as C(failed) by earlier versions hold the delivery until their lease ends. If the record of a confirmed
        send fails, a warning says that a re-run may send again."
      - "V(grafana) fails closed: when Grafana never lists the run's own claim back (it answers empty lists to
        credentials whose C(annotations:read) is scoped to dashboards only), when it lists other claims but never the
        run's own, when the run's claim disappears between listings (clean-up), or when it lists 500 claims of one
        delivery (the most it asks for), nothing is sent and the run fails saying which."
      - "Cost of V(grafana) in requests: a run that sends makes 1 C(POST), 6 C(GET) (claims, 0.2 records, records;
        after 1 second claims, records and uncertain records), 1 C(PATCH), plus one C(DELETE) per lapsed claim; a run
        that skips makes 1 C(POST), 3 or 6 C(GET) and 1 C(DELETE); each claims listing asked again adds one C(GET);
        check mode makes 4 C(GET). In seconds: the sender waits 1 second plus its requests; on Grafana 11.3 and later
        each C(GET), C(PATCH) and C(DELETE) also waits for the dashboard search, so with a search of S seconds the
        sender spends about 1 + 7 x S seconds in the ledger, a skipping run about 4 x S to 7 x S. docs/benchmarks.md
        has measured figures (before the uncertain records' listing). The credentials need C(annotations:create), C(annotations:read), C(annotations:write) and
        C(annotations:delete) with scope C(annotations:type:organization)."
      - "The protocol relies on these behaviours of Grafana's annotation API (pkg/api/annotations.go,
        pkg/services/annotations/annotationsimpl): C(POST /api/annotations) answers the new C(id) from the database's
        sequence after storing its tags; C(GET /api/annotations) with several C(tags) returns only annotations that
        carry all of them (a tag without a value matches any value of its key), newest C(timeEnd) first, at most
        C(limit); each annotation carries C(created) and C(updated) stamped by Grafana; C(PATCH) replaces the whole tag
        list when C(tags) is given; C(PATCH) and C(DELETE /api/annotations/{id}) find the annotation through the
        caller's read permission."
    type: str
    choices: [file, grafana]
    default: file
  ledger_path:
    description:
      - The ledger file, created 0600 in a 0700 folder, with a C(locks) folder beside it. It holds no credentials.
      - Defaults to C(reportops-grafana/ledger.json) under E(XDG_STATE_HOME), or under C(~/.local/state).
      - "Its entries are keyed by a hash of the delivery (shown in the messages). An entry holds C(sent_at), the last
        confirmed send, and C(uncertain) (C(at), C(reason)) while the last send may have reached Grafana. A file with
        an uncertain entry is written as version 2, which earlier versions of the collection refuse (sending
        nothing); version 1 files are read as before."
    type: path
  resend_uncertain:
    description:
      - "A delivery with a ledger (a delivery key or a minimum interval) whose send may have reached Grafana although
        it failed (a timeout, a dropped connection, HTTP 502 or 504, a 500 page that is not Grafana's) is remembered
        by the ledger as uncertain. The run that met it fails for that delivery, as before, and says what the next run
        will do. Later runs do not send it: within its minimum interval, counted from the uncertain attempt, or with a
        delivery key alone at all, the delivery is V(skipped) with a warning and a message saying when and why it was
        held, and how to send it anyway: this option, or what to delete by hand (the entry of O(ledger_path) named by
        its key, or the annotation with V(ledger=grafana))."
      - V(true) sends such deliveries anyway (after checking that the report did not arrive, for example); a confirmed
        send then replaces the uncertain state. Deliveries whose last send was confirmed are still skipped as usual.
      - A run option for a person deciding once; do not set it in an inventory that a timer or a schedule uses, or every
        run would repeat uncertain sends.
      - Deliveries without a ledger are not remembered and never held.
    type: bool
    default: false
    version_added: 0.2.0
"""
