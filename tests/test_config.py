import pytest

from textvae.config import load_experiment
from textvae.errors import ConfigError


def test_shipped_configs_load(tmp_path):
    from pathlib import Path

    for path in sorted(Path(__file__).resolve().parents[1].joinpath("configs").glob("ptb_*.yaml")):
        config = load_experiment(path)
        assert config.data.tokenizer == "word"


def test_unknown_key_suggests_the_closest(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  latent_dimm: 8\n")
    with pytest.raises(ConfigError, match="model.latent_dimm.*did you mean 'latent_dim'"):
        load_experiment(path)


def test_overrides_are_typed_and_validated():
    config = load_experiment(None, ["train.lr=3e-4", "model.variational=false", "data.max_examples=10"])
    assert config.train.lr == 3e-4 and config.model.variational is False
    with pytest.raises(ConfigError, match="latent_dim must be > 0"):
        load_experiment(None, ["model.latent_dim=-4"])
    with pytest.raises(ConfigError, match="train.batch_size must be int"):
        load_experiment(None, ["train.batch_size=big"])
    with pytest.raises(ConfigError, match="unknown decoder 'lstm'"):
        load_experiment(None, ["model.decoder=lstm"])
    with pytest.raises(ConfigError, match="key=value"):
        load_experiment(None, ["train.lr"])


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_experiment("no/such.yaml")
