"""Hostile and oversized input: a clear error naming file and field, fast, and nothing applied."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from netlab.cli import main
from netlab.compile import names
from netlab.model import limits
from netlab.model.api_validation import validate_api_objects
from netlab.model.loader import read_paths
from netlab.model.model import parse_one
from netlab.model.problems import Source


def _bomb(levels: int = 9) -> str:
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, levels):
        text += f"l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 9) + "]\n"
    return text


def _pod(name: str = "p", **meta) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **meta},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def _apply(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--cluster", "nlt-hostile", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_a_nine_level_alias_bomb_is_refused_fast():
    start = time.monotonic()
    docs, problems = read_paths(["-"], stdin=io.StringIO(_bomb()))
    assert time.monotonic() - start < 1.0
    assert docs == []
    [p] = problems
    assert p.source == Source("<stdin>", 0, 1)
    assert "excessive aliasing" in p.message


def test_ordinary_anchors_and_merge_keys_still_load():
    text = ("base: &b {app: web, tier: front}\nlabels: {<<: *b, extra: x}\n"
            "copies: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n")
    docs, problems = read_paths(["-"], stdin=io.StringIO(text))
    assert problems == []
    assert docs[0].data["labels"] == {"app": "web", "tier": "front", "extra": "x"}


def test_go_yaml_alias_ratio_bounds():
    assert limits.allowed_alias_ratio(1000) == 0.99
    assert limits.allowed_alias_ratio(4_000_000) == 0.10
    assert 0.10 < limits.allowed_alias_ratio(2_000_000) < 0.99


def test_an_anchor_that_contains_itself_is_refused():
    _docs, [p] = read_paths(["-"], stdin=io.StringIO("x: &x [1, *x]\n"))
    assert "contains itself" in p.message


@pytest.mark.parametrize("suffix, text", [
    (".yaml", "[" * 20000 + "]" * 20000),
    (".yaml", "a: " + "[" * 20000),
    (".json", "[" * 20000 + "]" * 20000),
    (".json", '{"a": ' + "[" * 500 + "]" * 500 + "}"),
])
def test_deep_nesting_is_a_parse_error_naming_the_file(tmp_path, suffix, text):
    f = tmp_path / f"deep{suffix}"
    f.write_text(text)
    start = time.monotonic()
    docs, [p] = read_paths([str(f)])
    assert time.monotonic() - start < 20.0   # a guard against a blow-up, not a benchmark
    assert docs == [] and p.source is not None and p.source.file == str(f)
    assert "nesting deeper than 100 levels" in p.message


def test_annotations_are_limited_to_256_kib_in_total_keys_included():
    fits = {"a": "x" * (limits.MAX_ANNOTATION_BYTES - 1)}
    assert parse_one(_pod(annotations=fits))[1] == []
    over = {"a": "x" * (limits.MAX_ANNOTATION_BYTES // 2), "b": "y" * (limits.MAX_ANNOTATION_BYTES // 2)}
    _obj, [p] = parse_one(_pod(annotations=over))
    assert (p.field, p.message) == ("metadata.annotations",
                                    "Too long: must have at most 262144 bytes, got 262146")


def test_a_pod_templates_annotations_are_limited_too():
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
              "spec": {"selector": {"matchLabels": {"app": "d"}},
                       "template": {"metadata": {"labels": {"app": "d"},
                                                 "annotations": {"a": "x" * 300_000}},
                                    "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    _obj, problems = parse_one(deploy)
    assert [p.field for p in problems] == ["spec.template.metadata.annotations"]


def test_an_object_over_1_5_mib_is_refused():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "big"},
              "stringData": {f"k{i}": "x" * 100_000 for i in range(17)}}
    _obj, problems = parse_one(secret)
    assert [p.field for p in problems] == [""]
    assert problems[0].message.startswith("object is too large: ")
    assert problems[0].obj == "Secret default/big"


def test_a_50_mb_annotation_is_refused_unread_and_fast(tmp_path):
    f = tmp_path / "huge.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n---\napiVersion: v1\nkind: Pod\n"
                 "metadata:\n  name: q\n  annotations:\n    a: " + "x" * 50_000_000 + "\n")
    start = time.monotonic()
    docs, [p] = read_paths([str(f)])
    assert time.monotonic() - start < 1.0
    assert docs == [] and p.source == Source(str(f), 1, 5)
    assert "document is too large" in p.message


def test_one_type_error_does_not_hide_the_other_problems():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 0, "protocol": "ICMP"}]}}
    _obj, problems = parse_one(svc)
    assert sorted((p.field, p.message.split(";")[0]) for p in problems) == [
        ("spec.ports[0].port", "must be between 1 and 65535, got 0"),
        ("spec.ports[0].protocol", 'unsupported value "ICMP"'),
    ]


def test_problems_after_a_removed_list_item_are_not_misplaced():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "Bad"},
           "spec": {"ports": [{"name": "a", "port": 0}, {"name": "b", "port": "x"}, {"name": "c", "port": 0}]}}
    _obj, problems = parse_one(svc)
    fields = sorted(p.field for p in problems)
    # ports[1] had to go whole (port is required): ports[2] would have been reported as ports[1]
    assert fields == ["metadata.name", "spec.ports[0].port", "spec.ports[1].port"]
    assert [p.message for p in problems if p.field == "spec.ports[1].port"] == ["expected integer, got string 'x'"]


def test_a_bad_required_field_still_reports_the_metadata():
    pod = _pod("Bad")
    pod["spec"]["containers"] = "not a list"
    _obj, problems = parse_one(pod)
    assert sorted(p.field for p in problems) == ["metadata.name", "spec.containers"]


def test_validate_objects_judges_an_api_batch_as_apply_does():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 70000}]}}
    deep: list = []
    for _ in range(200):
        deep = [deep]
    _objs, problems = validate_api_objects([_pod(), svc, 5, {**_pod("q"), "x": deep}, _pod()])
    assert [(str(p.source), p.field) for p in problems] == [
        ("<api>#1", "spec.ports[0].port"), ("<api>#2", ""), ("<api>#3", ""), ("<api>#4", "metadata.name")]
    assert "duplicate Pod" in problems[-1].message
    assert validate_api_objects([_pod()])[1] == []


def test_cluster_bridge_must_be_an_interface_name():
    cluster = {"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "underlay": {"bridge": "a-much-too-long-bridge"}}
    _obj, [p] = parse_one(cluster)
    assert p.field == "underlay.bridge"


# --- the CLI ------------------------------------------------------------------------------------


def test_apply_of_an_alias_bomb_is_an_error_naming_the_file(tmp_path):
    f = tmp_path / "bomb.yaml"
    f.write_text(_bomb())
    code, out = _apply(tmp_path, "apply", "-f", str(f))
    assert code == 1
    assert out.startswith("error: invalid manifests, nothing applied:\n")
    assert f"{f}:1: invalid YAML: document contains excessive aliasing" in out


def test_apply_of_deep_json_is_an_error_not_a_traceback(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text("[" * 20000 + "]" * 20000)
    code, out = _apply(tmp_path, "apply", "-f", str(f))
    assert code == 1 and f"{f}:1: invalid JSON: nesting deeper than 100 levels" in out


@pytest.mark.parametrize("content", [None, "", "# only a comment\n---\n"])
def test_empty_input_applies_nothing_and_says_so(tmp_path, content):
    target = tmp_path / "m"
    target.mkdir()
    if content is not None:
        target = target / "empty.yaml"
        target.write_text(content)
    code, out = _apply(tmp_path, "apply", "-f", str(target))
    assert (code, out) == (1, f"error: no objects passed to apply (read {target})\n")


def test_apply_of_only_a_cluster_document_is_an_error(tmp_path):
    f = tmp_path / "cluster.yaml"
    f.write_text("apiVersion: netlab.dev/v1alpha1\nkind: Cluster\n")
    code, out = _apply(tmp_path, "apply", "-f", str(f))
    assert code == 1 and out.startswith("error: no objects passed to apply")


def test_up_with_an_empty_directory_or_invalid_manifests_changes_nothing(tmp_path):
    cluster = "nlt-hostile-up"
    (tmp_path / "empty").mkdir()
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                               "spec": {"ports": [{"port": 0, "protocol": "ICMP"}]}}))
    runner = CliRunner()
    empty = runner.invoke(main, ["--cluster", cluster, "up", str(tmp_path / "empty")], catch_exceptions=False)
    assert (empty.exit_code, empty.output) == (1, f"error: no objects passed to up (read {tmp_path / 'empty'})\n")
    invalid = runner.invoke(main, ["--cluster", cluster, "up", str(bad)], catch_exceptions=False)
    assert invalid.exit_code == 1
    assert "spec.ports[0].port" in invalid.output and "spec.ports[0].protocol" in invalid.output
    assert "Creating cluster" not in invalid.output
    assert not Path(names.state_dir(cluster)).exists() and not Path(names.run_dir(cluster)).exists()


def test_a_pod_whose_log_directory_name_would_not_fit_is_refused():
    assert parse_one(_pod("p" * 246))[1] == []  # default_ + 246 = 254
    _obj, [p] = parse_one(_pod("p" * 253, namespace="kube-system"))
    assert p.field == "metadata.name" and "at most 254 characters" in p.message


def test_a_workload_with_a_long_name_is_accepted_its_pod_names_are_cut_to_63():
    def deploy(kind: str, name: str) -> dict:
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
                "spec": {"selector": {"matchLabels": {"app": "d"}},
                         "template": {"metadata": {"labels": {"app": "d"}},
                                      "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    assert parse_one(deploy("Deployment", "d" * 240))[1] == []
    assert parse_one(deploy("ReplicaSet", "r" * 250))[1] == []


def test_security_context_is_checked_as_the_api_server_does():
    pod = _pod("sc")
    pod["spec"]["securityContext"] = {"runAsUser": -1}
    pod["spec"]["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False, "privileged": True}
    _obj, problems = parse_one(pod)
    assert sorted(p.field for p in problems) == ["spec.containers[0].securityContext", "spec.securityContext.runAsUser"]
