"""ConfigMaps and Secrets in pods (env, envFrom, configMap/secret/downwardAPI/emptyDir volumes), the files
written for them, and the API server's defaulting (Service, Deployment, DefaultIngressClass)."""

from __future__ import annotations

import base64
import os
import random
import stat

import pytest

from netlab.compile import addons
from netlab.compile.containerspec import container_specs
from netlab.compile.workloads import PlacedPod
from netlab.model.loader import RawDoc
from netlab.model.problems import Source
from netlab.model.validate import parse_objects
from netlab.runtime import store, volumes

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "ns1"},
      "data": {"greeting": "hello", "index.html": "<h1>hi</h1>", "bad name": "skipped"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": "ns1"},
          "data": {"password": base64.b64encode(b"s3cret").decode()}, "stringData": {"user": "admin"}}
OBJECTS = {"ConfigMap/ns1/cfg": CM, "Secret/ns1/sec": SECRET}


def pod(container: dict, volumes_: list[dict] | None = None) -> PlacedPod:
    spec = {"containers": [{"name": "c", "image": "busybox", **container}], "volumes": volumes_ or []}
    return PlacedPod("ns1", "p", "n1", "10.244.1.5", "uid-1", 0.0, {"app": "a"}, spec)


def test_env_from_configmap_and_secret() -> None:
    c = {"envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
         "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                 {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
                 {"name": "USER", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "user"}}},
                 {"name": "CFG_greeting", "value": "overridden"},
                 {"name": "MAYBE", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}},
                 {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}
    [spec] = container_specs(pod(c), "192.168.0.2", {}, OBJECTS)
    assert spec.config_error is None
    env = spec.env
    assert (env["GREETING"], env["PASSWORD"], env["USER"], env["CFG_greeting"], env["POD"]) == (
        "hello", "s3cret", "admin", "overridden", "p")
    assert env["CFG_index.html"] == "<h1>hi</h1>" and "CFG_bad name" not in env and "MAYBE" not in env


def test_missing_configmap_or_key_is_a_config_error() -> None:
    missing = {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]}
    assert container_specs(pod(missing), "ip", {}, OBJECTS)[0].config_error == 'configmap "nope" not found'
    no_key = {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]}
    assert container_specs(pod(no_key), "ip", {}, OBJECTS)[0].config_error == \
        "couldn't find key k in ConfigMap ns1/cfg"
    vol = [{"name": "v", "secret": {"secretName": "nope"}}]
    mounted = {"volumeMounts": [{"name": "v", "mountPath": "/etc/x"}]}
    assert container_specs(pod(mounted, vol), "ip", {}, OBJECTS)[0].config_error == \
        'MountVolume.SetUp failed for volume "v" : secret "nope" not found'


def test_volumes_of_every_filled_kind() -> None:
    vols = [{"name": "html", "configMap": {"name": "cfg", "items": [{"key": "index.html", "path": "site/index.html"}]}},
            {"name": "creds", "secret": {"secretName": "sec", "defaultMode": 0o400}},
            {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                                                       {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "host", "hostPath": {"path": "/srv"}}]
    mounts = [{"name": n, "mountPath": f"/m/{n}"} for n in ("html", "creds", "info", "scratch", "host")]
    [spec] = container_specs(pod({"volumeMounts": mounts}, vols), "ip", {}, OBJECTS)
    by_name = {v["name"]: v for v in spec.volumes}
    assert set(by_name) == {"html", "creds", "info", "scratch"}   # hostPath is bound by the security profile
    assert list(by_name["html"]["files"]) == ["site/index.html"]
    assert by_name["creds"]["files"]["password"] == {"data": base64.b64encode(b"s3cret").decode(), "mode": 0o400}
    assert base64.b64decode(by_name["info"]["files"]["labels"]["data"]) == b'app="a"\n'
    assert by_name["scratch"]["files"] is None and not by_name["scratch"]["readOnly"]
    assert by_name["html"]["readOnly"]


def test_materialize_writes_files_and_keeps_empty_dirs(tmp_path) -> None:
    vols = [{"name": "cfg", "mountPath": "/etc/app", "readOnly": True, "subPath": None,
             "files": {"a.conf": {"data": base64.b64encode(b"x=1").decode(), "mode": 0o644},
                       "d/b.conf": {"data": base64.b64encode(b"y").decode(), "mode": 0o600},
                       "../escape": {"data": "", "mode": 0o644}}},
            {"name": "tmp", "mountPath": "/scratch", "readOnly": False, "subPath": None, "files": None}]
    mounts = volumes.materialize(tmp_path, vols)
    assert mounts == [[str(tmp_path / "volumes/cfg"), "/etc/app", True, False],
                      [str(tmp_path / "volumes/tmp"), "/scratch", False, False]]
    assert (tmp_path / "volumes/cfg/a.conf").read_text() == "x=1"
    assert stat.S_IMODE((tmp_path / "volumes/cfg/d/b.conf").stat().st_mode) == 0o600
    assert not (tmp_path / "escape").exists()
    (tmp_path / "volumes/tmp/kept").write_text("data")
    vols[0]["files"] = {"a.conf": {"data": base64.b64encode(b"x=2").decode(), "mode": 0o644}}
    volumes.materialize(tmp_path, vols)
    assert (tmp_path / "volumes/cfg/a.conf").read_text() == "x=2"
    assert not (tmp_path / "volumes/cfg/d").exists()            # a key that went away
    assert (tmp_path / "volumes/tmp/kept").read_text() == "data"  # an emptyDir lives as long as its pod


def _parsed(obj: dict) -> dict:
    objs, problems = parse_objects([RawDoc(Source("f", 0, 1), obj)])
    assert problems == []
    return objs[0].to_dict()


def test_service_and_deployment_defaults() -> None:
    svc = _parsed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                   "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}})["spec"]
    assert (svc["ipFamilyPolicy"], svc["internalTrafficPolicy"], svc["sessionAffinity"]) == (
        "SingleStack", "Cluster", "None")
    assert "ipFamilies" not in svc, "the cluster's primary family: set when the Service is shown (views.service)"
    dep = _parsed({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                   "spec": {"selector": {"matchLabels": {"a": "b"}}, "strategy": {"rollingUpdate": {"maxSurge": 0}},
                            "template": {"metadata": {"labels": {"a": "b"}},
                                         "spec": {"containers": [{"name": "c", "image": "i"}]}}}})["spec"]
    assert dep["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": "25%"}
    assert (dep["revisionHistoryLimit"], dep["progressDeadlineSeconds"]) == (10, 600)


def _ingress(name: str, **spec) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": "default"},
            "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}, **spec}}


def test_ingress_without_class_gets_the_default_class() -> None:
    default = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
               "metadata": {"name": "fancy", "annotations": {addons.DEFAULT_CLASS_ANNOTATION: "true"}},
               "spec": {"controller": "k8s.io/ingress-nginx"}}
    legacy = _ingress("legacy")
    legacy["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx"}
    out, _ = store.merge({}, [default, _ingress("plain"), _ingress("mine", ingressClassName="other"), legacy],
                         random.Random(1))
    classes = {k: (o.get("spec") or {}).get("ingressClassName") for k, o in out.items() if o["kind"] == "Ingress"}
    assert classes == {"Ingress/default/plain": "fancy", "Ingress/default/mine": "other",
                       "Ingress/default/legacy": None}
    # only on create, as the admission plugin: an existing Ingress stays as it is
    current = {"IngressClass//fancy": default, "Ingress/default/plain": _ingress("plain")}
    again, _ = store.merge(current, [_ingress("plain"), _ingress("new")], random.Random(1))
    assert again["Ingress/default/new"]["spec"]["ingressClassName"] == "fancy"
    assert "ingressClassName" not in again["Ingress/default/plain"]["spec"]
    without_default, _ = store.merge({}, [_ingress("plain")], random.Random(1))
    assert "ingressClassName" not in without_default["Ingress/default/plain"]["spec"]


def test_stored_only_kinds_say_so() -> None:
    assert "does not act on it" in store.no_effect("ServiceAccount")
    assert store.no_effect("Service") is None and store.no_effect("ConfigMap") is None


def test_projected_volume_merges_its_sources() -> None:
    vols = [{"name": "all", "projected": {"defaultMode": 0o440, "sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "greeting", "path": "greeting.txt"}]}},
        {"secret": {"name": "sec", "items": [{"key": "user", "path": "user"}]}},
        {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        {"serviceAccountToken": {"path": "token"}}]}}]
    [spec] = container_specs(pod({"volumeMounts": [{"name": "all", "mountPath": "/p"}]}, vols), "ip", {}, OBJECTS)
    files = spec.volumes[0]["files"]
    assert {k: base64.b64decode(v["data"]) for k, v in files.items()} == {
        "greeting.txt": b"hello", "user": b"admin", "ns": b"ns1"}
    assert {v["mode"] for v in files.values()} == {0o440}


def test_volume_problems_name_their_field() -> None:
    pod_obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "i", "volumeMounts": [
            {"name": "cfg", "mountPath": "/a"}, {"name": "nope", "mountPath": "/b"},
            {"name": "cfg", "mountPath": "/c", "subPath": "../x"}]}],
        "volumes": [{"name": "cfg", "configMap": {"name": "c", "defaultMode": "0o440",
                                                  "items": [{"key": "k", "path": "/abs", "mode": 0o1777}]}},
                    {"name": "sec", "secret": {}, "emptyDir": {}}]}}
    _objs, problems = parse_objects([RawDoc(Source("f", 0, 1), pod_obj)])
    assert [(p.field, p.message) for p in problems] == [
        ("spec.volumes[0].configMap.defaultMode", "expected integer (a file mode such as 0644), got string '0o440'"),
        ("spec.volumes[0].configMap.items[0].mode",
         "must be a number between 0 and 0777 (octal), both inclusive, got 1023"),
        ("spec.volumes[0].configMap.items[0].path", "must be a relative path without '..', got '/abs'"),
        ("spec.volumes[1]", "may not specify more than 1 volume type (got emptyDir, secret)"),
        ("spec.volumes[1].secret.secretName", "Required value"),
        ("spec.containers[0].volumeMounts[1].name", 'Not found: "nope"'),
        ("spec.containers[0].volumeMounts[2].subPath", "must be a relative path without '..'")]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another group needs root")
def test_fs_group_owns_volume_files(tmp_path) -> None:
    vols = [{"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0o400}}, {"name": "tmp", "emptyDir": {}}]
    mounts = [{"name": "sec", "mountPath": "/s"}, {"name": "tmp", "mountPath": "/t"}]
    p = pod({"volumeMounts": mounts}, vols)
    p.spec["securityContext"] = {"fsGroup": 2000}
    [spec] = container_specs(p, "ip", {}, OBJECTS)
    assert {v["fsGroup"] for v in spec.volumes} == {2000}
    volumes.materialize(tmp_path, spec.volumes)
    secret_file = (tmp_path / "volumes/sec/password").stat()
    assert (secret_file.st_gid, stat.S_IMODE(secret_file.st_mode)) == (2000, 0o440)
    scratch = (tmp_path / "volumes/tmp").stat()
    assert (scratch.st_gid, stat.S_IMODE(scratch.st_mode)) == (2000, 0o2777)


def test_job_and_cronjob_defaults() -> None:
    template = {"spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}}
    job = _parsed({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                   "spec": {"template": template}})["spec"]
    assert {k: job[k] for k in ("completions", "parallelism", "backoffLimit", "completionMode", "suspend",
                                "podReplacementPolicy")} == {
        "completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed"}
    parallel = _parsed({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                        "spec": {"parallelism": 3, "template": template}})["spec"]
    assert "completions" not in parallel   # a work queue: no completions, as upstream
    cron = _parsed({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                    "spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": template}}}})["spec"]
    assert (cron["concurrencyPolicy"], cron["suspend"], cron["successfulJobsHistoryLimit"],
            cron["failedJobsHistoryLimit"], cron["jobTemplate"]["spec"]["backoffLimit"]) == ("Allow", False, 3, 1, 6)
