# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a playbook run's time goes, task by task: for `make bench` (tests/bench/bench.py) only."""

from __future__ import annotations

DOCUMENTATION = r"""
name: task_profile
type: aggregate
short_description: Wall and CPU time of each task, written to a JSON file (make bench)
description:
  - Writes, when the playbook ends, each task's name with the wall seconds from its start to the next task's, and
    the CPU seconds of the controller in that time (this process and the workers it waited for), to the file named by
    E(REPORTOPS_TASK_PROFILE).
author: reportops.grafana contributors
"""

import json
import os
import resource
import time

from ansible.plugins.callback import CallbackBase


def _cpu():
    return sum(usage.ru_utime + usage.ru_stime for usage in (resource.getrusage(resource.RUSAGE_SELF),
                                                             resource.getrusage(resource.RUSAGE_CHILDREN)))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_profile"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks = []
        self.started = None

    def _end_task(self):
        if self.started:
            name, wall, cpu = self.started
            self.tasks.append(dict(task=name, wall=time.perf_counter() - wall, cpu=_cpu() - cpu))
        self.started = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._end_task()
        self.started = (task.get_name(), time.perf_counter(), _cpu())

    def v2_playbook_on_stats(self, stats):
        self._end_task()
        with open(os.environ["REPORTOPS_TASK_PROFILE"], "w") as stream:
            json.dump(self.tasks, stream)
