"""The controller's rollout step: every Deployment advances as its pods become available.

A mixin of netlab.runtime.controller.Controller (as ApiSide is): the plan itself is pure (compile/rollout.py,
compile/workloads.py, compile/replicasets.py); this applies one step per tick through the controller's commit.
"""

from __future__ import annotations

import time

from netlab.api.errors import ApiError
from netlab.compile import podsets, replicasets, rollout, workloads
from netlab.runtime import events as evmod
from netlab.runtime import state as statemod


class RolloutSide:
    def _init_rollouts(self) -> None:
        self.ready_since: dict[str, float] = {}  # pod key -> since when it is Ready (rollouts count availability)
        self.deployment_status: dict[str, dict] = {}  # "ns/name" -> the Deployment's status at the last tick
        self._rollout_error, self._rollout_retry = "", 0.0  # a failed rollout step is retried after a pause
        self._scaled_pods = self.state.pods  # the pods the last ScalingReplicaSet events were told from

    def _roll_out(self) -> None:
        """One step of every Deployment's rollout as its pods become available (the plan: compile/rollout), and
        of every StatefulSet and DaemonSet (compile/podsets)."""
        now = time.time()
        self.ready_since = rollout.track_ready(self.ready_since, self.observed.ready, now)
        objects = self.state.objects.values()
        if now >= self._rollout_retry and (
                workloads.rollout_pending(objects, self.state.pods, self.ready_since, now)
                or podsets.pending(objects, self.state.pods, self.ready_since, self.config.topology().nodes)):
            try:
                self._commit(self.state.objects, self._place(self.state.objects), self.state.allocations)
                self._rollout_error = ""
            except ApiError as e:
                if str(e) != self._rollout_error:
                    self.event("FailedRollout", str(e))
                self._rollout_error, self._rollout_retry = str(e), now + 5
        if self._scaled_pods is not self.state.pods:  # by this step, or by an apply or delete since the last tick
            for obj, message in workloads.scaling_events(self.state.objects.values(), self._scaled_pods,
                                                         self.state.pods):
                self.event("ScalingReplicaSet", message, obj, component=evmod.DEPLOYMENT_CONTROLLER)
            self._scaled_pods = self.state.pods
        status = workloads.deployment_statuses(self.state.objects.values(), self.state.pods, self.ready_since, now,
                                               self.deployment_status)
        if status != self.deployment_status:
            self.deployment_status = status
            self._dirty.add("Deployment")  # watchers (kubectl rollout status) see the status move
        history = replicasets.history(self.state.objects.values(), self.state.pods, self.state.replicasets, now)
        if history != self.state.replicasets:
            self.state.replicasets = history
            self._dirty.add("ReplicaSet")
            statemod.save(self.cluster, self.state)
