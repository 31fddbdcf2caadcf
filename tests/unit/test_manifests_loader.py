"""netlab.model.loader: files, directories, stdin, multi-doc, JSON, List, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from netlab.model.loader import load_paths, read_paths
from netlab.model.problems import ManifestError, Problem, Source


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_source_and_problem_strings() -> None:
    src = Source("manifests/app.yaml", 0, 12)
    p = Problem(
        src, "Service default/app-service", "spec.ports[0].port", "must be between 1 and 65535, got 70000"
    )
    assert str(src) == "manifests/app.yaml:12"
    assert str(Source("a.yaml", 2, None)) == "a.yaml#2"
    assert str(p) == (
        "manifests/app.yaml:12: Service default/app-service: spec.ports[0].port: "
        "must be between 1 and 65535, got 70000"
    )
    assert str(Problem(None, "", "", "boom")) == "boom"
    err = ManifestError([p, Problem(None, "Pod default/a", "spec", "x")])
    assert str(err).splitlines() == [str(p), "Pod default/a: spec: x"]
    assert len(err.problems) == 2


def test_multi_document_file_lines_and_empty_docs(tmp_path: Path) -> None:
    f = write(tmp_path / "app.yaml", "# header\na: 1\n---\n---\n# only a comment\n---\nb: 2\nc: 3\n")
    docs = load_paths([str(f)])
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2, "c": 3}]
    assert docs[0].source == Source(str(f), 0, 2)
    assert docs[1].source == Source(str(f), 3, 7)


def test_directory_is_recursive_and_sorted(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", "n: b\n")
    write(tmp_path / "a" / "z.yml", "n: az\n")
    write(tmp_path / "a" / "deeper" / "c.json", '{"n": "adc"}')
    write(tmp_path / "notes.txt", "n: ignored\n")
    docs = load_paths([str(tmp_path)])
    assert [d.data["n"] for d in docs] == ["adc", "az", "b"]
    assert docs[0].source == Source(str(tmp_path / "a" / "deeper" / "c.json"), 0, 1)


def test_stdin() -> None:
    docs = load_paths(["-"], stdin=io.StringIO("x: 1\n---\ny: 2\n"))
    assert [(d.source.file, d.source.doc, d.source.line, d.data) for d in docs] == [
        ("<stdin>", 0, 1, {"x": 1}),
        ("<stdin>", 1, 3, {"y": 2}),
    ]


def test_json_file_and_list_flattening(tmp_path: Path) -> None:
    f = write(
        tmp_path / "l.json",
        json.dumps({"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod"}, {"kind": "Service"}]}),
    )
    assert [d.data for d in load_paths([str(f)])] == [{"kind": "Pod"}, {"kind": "Service"}]


def test_yaml_list_items_keep_their_lines(tmp_path: Path) -> None:
    f = write(
        tmp_path / "l.yaml", "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  x: 1\n- kind: Service\n"
    )
    docs = load_paths([str(f)])
    assert [(d.data["kind"], d.source.line) for d in docs] == [("Pod", 4), ("Service", 6)]


def test_timestamps_stay_strings() -> None:
    docs = load_paths(["-"], stdin=io.StringIO("date: 2024-01-01\n"))
    assert docs[0].data == {"date": "2024-01-01"}


def test_yaml_syntax_error_has_file_and_line(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.yaml", "a: 1\n---\nb:\n  - [1, 2\nc: 3\n")
    with pytest.raises(ManifestError) as info:
        load_paths([str(f)])
    [p] = info.value.problems
    assert p.source is not None and p.source.file == str(f) and p.source.doc == 1 and p.source.line == 5
    assert p.message.startswith("invalid YAML: ")


def test_duplicate_key_is_an_error() -> None:
    with pytest.raises(ManifestError) as info:
        load_paths(["-"], stdin=io.StringIO("a: 1\na: 2\n"))
    [p] = info.value.problems
    assert p.source == Source("<stdin>", 0, 2)
    assert "duplicate key 'a'" in p.message


def test_invalid_json_has_line(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.json", '{\n"a": 1,\n}\n')
    with pytest.raises(ManifestError) as info:
        load_paths([str(f)])
    [p] = info.value.problems
    assert p.source == Source(str(f), 0, 3)
    assert p.message.startswith("invalid JSON: ")


def test_missing_path_and_non_mapping_document_are_problems(tmp_path: Path) -> None:
    f = write(tmp_path / "list.yaml", "- a\n- b\n---\nok: 1\n---\njust text\n")
    docs, problems = read_paths([str(tmp_path / "nope.yaml"), str(f)])
    assert [d.data for d in docs] == [{"ok": 1}]
    assert [(p.source, p.obj, p.message) for p in problems] == [
        (None, "", f"{tmp_path / 'nope.yaml'}: no such file or directory"),
        (Source(str(f), 0, 1), "document 1", "expected a mapping (object), got a list"),
        (Source(str(f), 2, 6), "document 3", "expected a mapping (object), got a string"),
    ]
    with pytest.raises(ManifestError) as info:
        load_paths([str(tmp_path / "nope.yaml"), str(f)])
    assert len(info.value.problems) == 3
