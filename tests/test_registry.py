"""Registries: configs and data files reach code only through registered names."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import yaml
from conftest import ROOT

import main
from engine.config import parse_config
from utils.errors import ConfigError, DataError
from utils.registry import FEEDERS, GRAPHS, MODELS, OPTIMIZERS, READERS, Registry


def _write_config(tmp_path, name="evil.yaml", **cfg):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_old_dotted_paths_are_registered_aliases():
    import feeders.feeder
    import graph.ntu_rgb_d
    import model.agcn

    assert MODELS.get("model.agcn.Model") is model.agcn.Model
    assert MODELS.get("agcn") is model.agcn.Model
    assert MODELS.canonical("model.agcn.Model") == "agcn"
    assert FEEDERS.get("feeders.feeder.Feeder") is feeders.feeder.Feeder
    assert GRAPHS.get("graph.ntu_rgb_d.Graph") is graph.ntu_rgb_d.Graph
    for name in ("model.aagcn.Model", "model.sgn.Model", "model.impsgnv2.Model"):
        assert name in MODELS
    for name in ("SGD", "Adam", "AdamW"):
        assert callable(OPTIMIZERS.get(name))


@pytest.mark.parametrize(
    "key, value",
    [
        ("model", "utils.io.save_text"),
        ("model", "data_gen.common.save_text"),
        ("model", "os.system"),
        ("feeder", "utils.io.save_text"),
        ("optimizer", "torch.optim.SGD"),
    ],
)
def test_unregistered_names_are_refused_before_anything_runs(tmp_path, key, value, capsys):
    target = tmp_path / "written.py"
    cfg = {
        "model": "model.agcn.Model",
        "model_args": {"text": "import os\n", "path": str(target)},
        "work_dir": str(tmp_path / "w"),
        key: value,
    }
    path = _write_config(tmp_path, **cfg)
    assert main.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {key}: '{value}' is not a registered")
    assert "registered:" in err and "\n" not in err
    assert not target.exists() and not (tmp_path / "w").exists()


def test_graph_must_be_registered(tmp_path):
    from model.agcn import Model

    with pytest.raises(
        ConfigError, match=r"model_args.graph: 'utils.io.save_text' is not a registered graph"
    ):
        Model(num_class=4, graph="utils.io.save_text", graph_args={"text": "x", "path": str(tmp_path / "f")})
    assert not (tmp_path / "f").exists()


def test_error_lists_registered_names_and_suggests_the_closest():
    with pytest.raises(ConfigError) as info:
        MODELS.get("model.agcn.Modle", "model")
    message = str(info.value)
    assert "did you mean 'model.agcn.Model'?" in message
    for name in ("aagcn", "agcn", "impsgnv2", "sgn"):
        assert name in message


def test_registry_rejects_conflicting_names():
    reg = Registry("thing")
    reg.add("a", int, aliases=("x.a",))
    reg.add("a", int)  # the same object again is fine (module reloads)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("b", float, aliases=("x.a",))
    assert reg.names() == ["a"] and reg.names(with_aliases=True) == ["a", "x.a"]
    assert reg.name_of(int) == "a" and reg.name_of(str) is None


def test_lookup_never_imports_what_a_file_names(tmp_path):
    name = "skeleton_pipeline_probe_module"
    (tmp_path / f"{name}.py").write_text("raise SystemExit('imported')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ConfigError):
            MODELS.get(f"{name}.Model")
        with pytest.raises(ConfigError):
            READERS.get(f"{name}.read")
    finally:
        sys.path.remove(str(tmp_path))
    assert name not in sys.modules


def test_preprocess_json_reader_must_be_registered(tmp_path):
    import predict

    folder = tmp_path / "data"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (folder / "preprocess.json").write_text(
        json.dumps({"reader": "data_gen.common.save_text", "options": {"text": "gone"}})
    )
    clip = tmp_path / "clip.skeleton"
    clip.write_text("1\n0\n")
    with pytest.raises(
        ConfigError, match=r"preprocess.json: reader: 'data_gen.common.save_text' is not a registered"
    ):
        predict.read_joint_sample(clip, data_folder=folder)
    assert victim.read_text() == "keep me"


def test_every_recorded_reader_is_registered():
    """The readers the generators write into preprocess.json all resolve (and only read)."""
    for name in (
        "data_gen.ntu_gendata.read_sample",
        "data_gen.kinetics_gendata.read_video",
        "data_gen.ucla_gendata.read_clip",
        "data_gen.custom_gendata.read_clip",
        "data_gen.openpose_to_kinetics.read_clip",
    ):
        assert callable(READERS.get(name))
    assert "data_gen.common.save_text" not in READERS


def test_shipped_configs_name_only_registered_components():
    for path in sorted((ROOT / "config").rglob("*.yaml")):
        cfg = parse_config(["--config", str(path)])  # _validate resolves model, feeder, optimizer
        graph = cfg.model_args.get("graph")
        if graph is not None:
            assert graph in GRAPHS, (path, graph)


def test_unregistered_reader_in_a_good_data_folder_is_refused_with_the_file(tmp_path):
    import predict

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "preprocess.json").write_text(json.dumps({"reader": "builtins.open", "options": {}}))
    clip = tmp_path / "a.skeleton"
    clip.write_text("0\n")
    with pytest.raises((ConfigError, DataError), match=r"data/preprocess.json: reader: 'builtins.open'"):
        predict.read_joint_sample(clip, data_folder=folder)
    np.testing.assert_equal(clip.read_text(), "0\n")
