# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The retry options of the modules that send, beside the connection's; the argument spec that matches them is
    # _client.RETRY_ARGUMENT_SPEC.
    DOCUMENTATION = r"""
options:
  retries:
    description:
      - How many times to repeat the send when Grafana provably did not act on it, that is when no connection could be
        made or Grafana answered 429 or 503 (honouring C(Retry-After), at most 30 seconds).
      - A timeout, a dropped connection, 500, 502 or 504 are never retried by this option, because Grafana may have sent
        the report; O(render_retries) repeats a send that Grafana itself reports as failed.
    type: int
    default: 2
  render_retries:
    description:
      - How many times to send a report again when Grafana itself reports the send as failed, that is when it answers
        HTTP 500 with its own JSON error (rendering or the mail failed, nothing was sent). Each try counts in the
        returned C(attempts). 0 to 10.
      - Never for what may have been sent, a timeout, a dropped connection, HTTP 502 or 504, or a 500 page that is
        not Grafana's.
      - With O(ledger=grafana), a claim's lease covers every render retry and its wait.
    type: int
    default: 2
  render_backoff:
    description:
      - Seconds before the first render retry; each further retry waits twice as long, at most 300 seconds. Each wait
        is between half of that and all of it, at random (jitter), so deliveries that failed together do not come back
        together. 0 to 300.
      - In M(reportops.grafana.grafana_report_deliver) a waiting delivery keeps its place among the
        O(reportops.grafana.grafana_report_deliver#module:concurrency)
        sends, so retries never make more sends at once.
    type: float
    default: 10.0
"""
