import json
import warnings

import pytest
import torch

from textvae.cli.main import main
from textvae.fastcpu import machine


def test_machine_info_names_the_cpu_and_its_matmul_instruction_sets():
    info = machine.machine_info()
    assert info["cores"] >= 1 and info["torch_threads"] >= 1
    assert set(info["cpu_flags"]) <= set(machine.SPEED_FLAGS)
    assert info["label"].startswith(info["cpu"]) and f"{info['cores']} cores" in info["label"]
    assert "matmul_tflops" not in info  # measuring is asked for explicitly


def test_label_picks_the_fastest_instruction_set():
    info = {"cpu": "X", "cores": 2}
    assert machine.label({**info, "cpu_flags": ["avx2", "avx512f", "avx512_bf16", "amx_bf16"]}) == "X, 2 cores, AMX-BF16"
    assert machine.label({**info, "cpu_flags": ["avx2", "avx512f", "avx512_bf16"]}) == "X, 2 cores, AVX512-BF16"
    assert machine.label({**info, "cpu_flags": []}) == "X, 2 cores, no AVX2"


def test_matmul_rate_is_measured_and_threads_are_restored():
    import torch

    before = torch.get_num_threads()
    assert machine.matmul_tflops(torch.float32, threads=1, size=64, repeats=1) > 0
    assert torch.get_num_threads() == before


def test_env_command_json(capsys):
    assert main(["env", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"cpu", "cores", "cpu_flags", "native_bf16", "torch", "label"} <= set(info)


def test_emulated_bf16_warns_on_cpu_only(monkeypatch):
    monkeypatch.setattr(machine, "native_bf16", lambda: False)
    with pytest.warns(UserWarning, match="no native bf16"):
        machine.warn_if_emulated_bf16("cpu", "fp32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        machine.warn_if_emulated_bf16("cuda", "fp32")
        monkeypatch.setattr(machine, "native_bf16", lambda: True)
        machine.warn_if_emulated_bf16("cpu", "fp32")


def test_trainer_warns_when_bf16_would_be_emulated(monkeypatch, tmp_path):
    from accelerate.state import AcceleratorState

    from textvae.config import load_experiment
    from textvae.training.trainer import Trainer

    monkeypatch.setattr(machine, "native_bf16", lambda: False)
    config = load_experiment(None, ["data.train=x.txt", "train.mixed_precision=bf16"])
    AcceleratorState._reset_state(reset_partial_state=True)  # Accelerate keeps one precision per process
    try:
        with pytest.warns(UserWarning, match="train.mixed_precision=no"):
            Trainer(config, tmp_path / "run", show_progress=False)
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)


def test_bf16_autocast_only_where_bf16_matmuls_are_native(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(machine, "native_bf16", lambda: False)
    with machine.bf16_where_native(cpu):
        assert not torch.is_autocast_enabled("cpu")
    monkeypatch.setattr(machine, "native_bf16", lambda: True)
    with machine.bf16_where_native(cpu):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    assert not torch.is_autocast_enabled("cpu")
