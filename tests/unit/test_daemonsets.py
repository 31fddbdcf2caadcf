"""DaemonSet node choice: nodeSelector, required node affinity, taints and tolerations."""

from netlab.compile import daemonsets

CP_TAINT = [daemonsets.CONTROL_PLANE_TAINT]


def test_control_plane_taint_needs_a_toleration():
    assert not daemonsets.node_matches({}, "cp", {}, CP_TAINT)
    tol = {"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                            "effect": "NoSchedule"}]}
    assert daemonsets.node_matches(tol, "cp", {}, CP_TAINT)
    assert daemonsets.node_matches({"tolerations": [{"operator": "Exists"}]}, "cp", {}, CP_TAINT)
    wrong_effect = {"tolerations": [{"operator": "Exists", "effect": "NoExecute"}]}
    assert not daemonsets.node_matches(wrong_effect, "cp", {}, CP_TAINT)


def test_node_selector_and_affinity():
    labels = {"disk": "ssd", "zone": "3"}
    assert daemonsets.node_matches({"nodeSelector": {"disk": "ssd"}}, "w1", labels, [])
    assert not daemonsets.node_matches({"nodeSelector": {"disk": "hdd"}}, "w1", labels, [])

    def aff(*terms):
        return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": list(terms)}}}}
    assert daemonsets.node_matches(aff({"matchExpressions": [{"key": "disk", "operator": "In",
                                                               "values": ["ssd"]}]}), "w1", labels, [])
    assert not daemonsets.node_matches(aff({"matchExpressions": [{"key": "disk", "operator": "NotIn",
                                                                   "values": ["ssd"]}]}), "w1", labels, [])
    assert daemonsets.node_matches(aff({"matchExpressions": [{"key": "zone", "operator": "Gt",
                                                               "values": ["2"]}]}), "w1", labels, [])
    assert not daemonsets.node_matches(aff({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}),
                                       "w1", labels, [])
    # terms are ORed
    assert daemonsets.node_matches(aff({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]},
                                       {"matchFields": [{"key": "metadata.name", "operator": "In",
                                                         "values": ["w1"]}]}), "w1", labels, [])


def test_status():
    status = daemonsets.status({"metadata": {"generation": 3}}, 2, [(True, True), (False, False)])
    assert status["desiredNumberScheduled"] == 2 and status["currentNumberScheduled"] == 2
    assert status["numberReady"] == 1 and status["updatedNumberScheduled"] == 1
    assert status["numberUnavailable"] == 1 and status["observedGeneration"] == 3
