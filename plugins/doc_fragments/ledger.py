# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The delivery ledger and retry options of the modules that send (grafana_report_send and
    # grafana_report_deliver); the argument spec that matches them is _delivery.LEDGER_ARGUMENT_SPEC.
    DOCUMENTATION = r"""
options:
  ledger:
    description:
      - Where the delivery ledger lives. Used only by a delivery with a delivery key or a minimum interval.
      - V(file) keeps it in O(ledger_path) on the host that runs the module.
      - V(grafana) keeps it as organization annotations in Grafana itself, for runners that share no file system,
        such as AWX jobs in fresh containers. A local lock folder beside O(ledger_path) still serialises runs on one host.
      - "How V(grafana) works: a run adds a claim annotation (tags C(reportops.grafana) and C(delivery:<hash>)), lists the
        delivery's annotations back, and sends only if no recorded send rules it out and its claim has the lowest
        annotation id among the live claims; a presumed winner lists once more after 1 second before it sends. Every
        other run skips with C(changed=false) and a message naming the runner that holds the delivery and
        since when, and deletes its claim. The winner turns its claim into the record of the send, which counts for
        the delivery key and the minimum interval, and deletes older records and lapsed claims of the delivery."
      - "What V(grafana) guarantees: at most one send per delivery at a time (with a delivery key alone, one send ever;
        with a minimum interval, one per interval), however many runners start together, provided that Grafana lists an
        annotation within 1 second of giving it its id, that the clocks of Grafana's instances differ by less than
        10 seconds, and that the record of a send is accepted within 10 seconds of the send. Ordering uses Grafana's
        annotation ids and lease ends Grafana's C(created) stamps, never a runner's clock."
      - "Failures with V(grafana): a claim has a lease of O(timeout) x (O(retries) + 1), plus 30 seconds per retry, plus
        20 seconds, plus 10 seconds of clock tolerance. A runner that dies holds the delivery until its lease ends; the
        next run after that sends. A send Grafana did not act on (no connection, a 4xx, a 500 with Grafana's own error)
        deletes the claim, so the next run sends. A send that may have happened (a timeout, a dropped connection, 502,
        504, a 500 page that is not Grafana's) keeps the claim until its lease ends and the message says so; a run after
        that sends again, so a report that Grafana mails later than the lease may go out twice. If the record of a
        confirmed send fails, a warning says that a re-run may send again. If the claim's requests take more than
        10 seconds before the send, nothing is sent."
      - "V(grafana) fails closed: when Grafana does not list the run's own claim back (it answers an empty list to
        credentials whose C(annotations:read) is scoped to dashboards only), or lists 500 annotations of one delivery
        (the most it asks for, so a claim could be hidden), nothing is sent and the run fails saying why."
      - "Cost of V(grafana): a run that sends makes 4 annotation requests (C(POST), 2 C(GET), C(PATCH)), plus one
        C(DELETE) per older record or lapsed claim, and waits 1 second; a run that skips makes 3 (C(POST), C(GET),
        C(DELETE)), or 4 when it learns on the second listing; check mode makes one C(GET).
        The credentials need C(annotations:create), C(annotations:read), C(annotations:write) and
        C(annotations:delete) with scope C(annotations:type:organization)."
      - "The protocol relies on these documented behaviours of Grafana's annotation API: C(POST /api/annotations)
        answers the new C(id) from the database's sequence; C(GET /api/annotations) with several C(tags) returns only
        annotations that carry all of them, newest first, at most C(limit); each annotation carries C(created) and
        C(updated) stamped by Grafana; C(PATCH) and C(DELETE /api/annotations/{id}) change or remove one annotation."
    type: str
    choices: [file, grafana]
    default: file
  ledger_path:
    description:
      - The ledger file, created 0600 in a 0700 folder, with a C(locks) folder beside it. It holds no credentials.
      - Defaults to C(reportops-grafana/ledger.json) under E(XDG_STATE_HOME), or under C(~/.local/state).
    type: path
  retries:
    description:
      - How many times to repeat the send when Grafana provably did not act on it, that is when no connection could be
        made or Grafana answered 429 or 503 (honouring C(Retry-After), at most 30 seconds).
      - A timeout, a dropped connection, 500, 502 or 504 are never retried by this option, because Grafana may have sent
        the report; O(render_retries) repeats a send that Grafana itself reports as failed.
    type: int
    default: 2
"""
