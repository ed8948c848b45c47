import json
import subprocess
import sys

import pytest

from textvae.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from conftest import ptb_lines

    folder = tmp_path_factory.mktemp("cli")
    ptb_files = {"train": folder / "train.txt", "valid": folder / "valid.txt"}
    ptb_files["train"].write_text("\n".join(ptb_lines("train", 200)) + "\n", encoding="utf-8")
    ptb_files["valid"].write_text("\n".join(ptb_lines("valid", 60)) + "\n", encoding="utf-8")
    out = folder / "model"
    assert main(["train", "--output", str(out), "--quiet",
                          "--set", f"data.train={ptb_files['train']}", "--set", f"data.valid={ptb_files['valid']}",
                          "--set", "data.tokenizer=word", "--set", "model.encoder=gru", "--set", "model.embed_dim=32",
                          "--set", "model.hidden_dim=32", "--set", "model.latent_dim=4", "--set", "train.epochs=1",
                          "--set", "train.batch_size=32"]) == 0
    return out


def test_evaluate_sample_reconstruct_json(trained, capsys):
    code, out, _ = run(capsys, "evaluate", "--model", str(trained), "--data", str(trained.parent / "valid.txt"), "--json")
    result = json.loads(out)
    assert code == 0 and result["sentences"] == 60
    assert result["neg_elbo"] == pytest.approx(result["reconstruction"] + result["kl"])
    code, out, _ = run(capsys, "sample", "--model", str(trained), "-n", "3", "--json", "--seed", "0")
    assert code == 0 and len(json.loads(out)["samples"]) == 3
    code, out, _ = run(capsys, "reconstruct", "--model", str(trained), "the market fell", "stocks rose", "--json")
    assert code == 0 and [r["input"] for r in json.loads(out)["reconstructions"]] == ["the market fell", "stocks rose"]
    code, out, _ = run(capsys, "interpolate", "--model", str(trained), "the market fell", "stocks rose", "--int8",
                       "--json")
    assert code == 0 and len(json.loads(out)["path"]) >= 2


@pytest.mark.parametrize("argv,message", [
    (["sample", "--model", "/no/such/model"], "model folder not found"),
    (["train", "--output", "x", "--config", "/no/such.yaml"], "config file not found"),
    (["train", "--output", "x", "--set", "model.decoder=lstm"], "unknown decoder 'lstm'"),
    (["train", "--output", "x", "--set", "trian.lr=1"], "did you mean 'train'"),
    (["train", "--output", "x", "--set", "data.train=/no/such/file.txt"], "data file not found"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_empty_text_is_rejected(trained, capsys):
    code, _, err = run(capsys, "reconstruct", "--model", str(trained), "  ")
    assert code == 2 and "empty or whitespace" in err


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "textvae.cli.main", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--resume" in result.stdout


def test_export_gives_a_model_the_lexicon_of_the_texts_its_experiment_trained_on(tmp_path, tiny_config,
                                                                                word_tokenizer, ptb_files):
    from textvae import TextVAE
    from textvae.nlg.lexicon import Lexicon

    TextVAE(tiny_config, word_tokenizer).save_pretrained(tmp_path / "run")
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(f"data:\n  train: {ptb_files['train'].name}\n  valid_fraction: 0.5\n", encoding="utf-8")
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "out"),
                 "--lexicon-data", str(experiment)]) == 0
    texts = ptb_files["train"].read_text(encoding="utf-8").splitlines()
    assert TextVAE.from_pretrained(tmp_path / "out", device="cpu").lexicon == Lexicon.of(texts[:150])
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "bad"),
                 "--lexicon-data", str(tmp_path / "missing.yaml")]) == 2
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "bad"), "--truecase"]) == 2
    assert not (tmp_path / "bad").exists()  # truecasing needs a lexicon
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "cased"), "--truecase",
                 "--lexicon-data", str(experiment)]) == 0
    assert TextVAE.from_pretrained(tmp_path / "cased", device="cpu").config.truecase


def test_export_writes_bf16_weights_and_the_paraphrase_scale(tmp_path, tiny_config, word_tokenizer, ptb_texts):
    import torch

    from textvae import TextVAE
    from textvae.io import WEIGHTS_FILE, load_tensors

    torch.manual_seed(0)
    model = TextVAE(tiny_config, word_tokenizer).eval()
    model.save_pretrained(tmp_path / "run")
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "out"), "--dtype", "bf16",
                 "--paraphrase-scale", "0.5", "--refine-steps", "3", "--refine-early-stop",
                 "--clean-up-tokenization-spaces"]) == 0
    weights = load_tensors(tmp_path / "out" / WEIGHTS_FILE)
    assert all(v.dtype == torch.bfloat16 for v in weights.values() if v.is_floating_point())
    loaded = TextVAE.from_pretrained(tmp_path / "out", device="cpu")
    assert loaded.config.paraphrase_scale == 0.5
    assert (loaded.config.refine_steps, loaded.config.refine_early_stop) == (3, True)
    assert loaded.config.clean_up_tokenization_spaces
    assert next(loaded.parameters()).dtype == torch.float32
    assert torch.allclose(loaded.encode(ptb_texts[:2], refine_steps=0)[0],
                          model.encode(ptb_texts[:2], refine_steps=0)[0], atol=0.1)
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "run")]) == 2
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "x"),
                 "--paraphrase-scale", "-1"]) == 2
    assert not (tmp_path / "x").exists()


def test_export_int8_stores_a_quarter_of_the_bytes_and_loads_close_to_the_float_model(tmp_path, tiny_config,
                                                                                     word_tokenizer, ptb_texts):
    import torch

    from textvae import TextVAE
    from textvae.io import WEIGHTS_FILE, load_tensors

    torch.manual_seed(0)
    model = TextVAE(tiny_config, word_tokenizer).eval()
    model.save_pretrained(tmp_path / "run")
    assert main(["export", "--model", str(tmp_path / "run"), "--output", str(tmp_path / "out"), "--dtype", "int8"]) == 0
    stored = load_tensors(tmp_path / "out" / WEIGHTS_FILE)
    matrices = [k for k, v in model.state_dict().items() if v.dim() >= 2 and k in stored]
    assert matrices and all(stored[k].dtype == torch.int8 for k in matrices)
    size = (tmp_path / "out" / WEIGHTS_FILE).stat().st_size
    assert size < 0.3 * (tmp_path / "run" / WEIGHTS_FILE).stat().st_size
    loaded = TextVAE.from_pretrained(tmp_path / "out", device="cpu")
    assert next(loaded.parameters()).dtype == torch.float32
    for key, value in model.state_dict().items():
        error = (loaded.state_dict()[key] - value).abs()
        bound = value.abs().amax(dim=-1, keepdim=True) / 254 + 1e-7 if value.dim() >= 2 else 0.0
        assert (error <= bound).all(), key  # each weight within half a step of its row's scale
    assert torch.allclose(loaded.encode(ptb_texts[:2], refine_steps=0)[0],
                          model.encode(ptb_texts[:2], refine_steps=0)[0], atol=0.05)
