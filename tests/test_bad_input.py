"""Bad input at every edge ends in one clear message, never a traceback from deep inside torch.

CLI cases: exit code 2, exactly one stderr line 'error: ...', no 'Traceback'. Python API cases: a
TextVAEError (ConfigError / DataError / CheckpointError) with the same clear message.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from textvae import TextVAE
from textvae.cli.main import main
from textvae.errors import CheckpointError, ConfigError, DataError, TextVAEError

# ---- fixtures: one tiny untrained model per tokenizer, copied per case before it is damaged ---------


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    from conftest import ptb_lines

    from textvae.config import ModelConfig
    from textvae.data import train_tokenizer

    root = tmp_path_factory.mktemp("bad_input")
    texts = ptb_lines("train", 300)
    config = ModelConfig(encoder="gru", decoder="gru", latent_dim=4, embed_dim=16, hidden_dim=16, ff_dim=32,
                         dropout=0.0, max_length=8, max_positions=32)
    torch.manual_seed(0)
    folders = {}
    for kind, vocab in (("word", 0), ("sentencepiece", 300)):
        folders[kind] = root / kind
        TextVAE(config, train_tokenizer(kind, texts, vocab, False)).save_pretrained(folders[kind])
    folders["transformer"] = root / "transformer"
    transformer = dataclasses.replace(config, decoder="transformer", num_heads=2, max_positions=30)
    TextVAE(transformer, train_tokenizer("word", texts, 0, False)).save_pretrained(folders["transformer"])
    (root / "train.txt").write_text("\n".join(texts[:120]) + "\n", encoding="utf-8")
    return {**folders, "train": root / "train.txt"}


@pytest.fixture()
def ctx(saved, tmp_path) -> dict[str, Path]:
    """Fresh copies of the saved models (cases may damage them) and the tmp folder."""
    out = {"tmp": tmp_path, "train": saved["train"], "transformer": saved["transformer"]}
    for kind in ("word", "sentencepiece"):
        out[kind] = tmp_path / kind
        shutil.copytree(saved[kind], out[kind])
    return out


@pytest.fixture(scope="module")
def model(saved) -> TextVAE:
    return TextVAE.from_pretrained(saved["word"], device="cpu")


# ---- helpers that damage a copy ----------------------------------------------------------------------


def write(path: str, content: str | bytes):
    def setup(c):
        target = c["tmp"] / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return setup


def edit_config(change):
    def setup(c):
        path = c["word"] / "config.json"
        meta = json.loads(path.read_text())
        change(meta)
        path.write_text(json.dumps(meta))
    return setup


def truncate(path: str, keep: int = 40):
    def setup(c):
        target = c["tmp"] / path
        target.write_bytes(target.read_bytes()[:keep])
    return setup


def remove(path: str):
    return lambda c: (c["tmp"] / path).unlink()


def setitem(keys: list[str], value):
    def change(meta):
        node = meta
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return change


def swap_weights(c):
    """Weights of a differently sized model under this config."""
    from textvae.io import save_tensors

    other = TextVAE.from_pretrained(c["word"], device="cpu")
    state = {k: torch.zeros(v.shape[0] + 1, *v.shape[1:]) if v.dim() else v for k, v in other.state_dict().items()}
    save_tensors(c["word"] / "model.safetensors", state)


def with_training_state(mutate):
    """A run folder whose checkpoint/ is damaged by `mutate(folder)`."""
    def setup(c):
        from textvae.training.checkpoint import save_training_state

        folder = c["tmp"] / "run" / "checkpoint"
        save_training_state(folder, {"progress": {"step": 1}, "optimizer": {}, "scheduler": {}, "rng": {},
                                     "model": {"w": torch.zeros(3)}})
        mutate(folder)
    return setup


def _state_version(version: int):
    def mutate(folder):
        path = folder / "trainer_state.json"
        skeleton = json.loads(path.read_text())
        skeleton["__dict__"] = [[k, version if k == "format_version" else v] for k, v in skeleton["__dict__"]]
        path.write_text(json.dumps(skeleton))
    return mutate


def _truncate_file(name: str):
    return lambda folder: (folder / name).write_bytes((folder / name).read_bytes()[:20])


TRAIN = ["train", "--output", "{tmp}/run", "--quiet", "--set", "data.train={train}", "--set", "data.tokenizer=word",
         "--set", "model.encoder=gru", "--set", "model.embed_dim=8", "--set", "model.hidden_dim=8",
         "--set", "model.latent_dim=2", "--set", "train.max_steps=1"]
SAMPLE = ["sample", "--model", "{word}", "-n", "2"]

# (argv, setup or None, expected message): every one must print exactly 'error: <message...>'
CLI_CASES = {
    # configs: files, unknown keys, types and ranges
    "config_missing": (["train", "--output", "{tmp}/run", "--config", "{tmp}/none.yaml"], None,
                       "config file not found"),
    "config_yaml_syntax": (["train", "--output", "{tmp}/run", "--config", "{tmp}/c.yaml"],
                           write("c.yaml", "model: [latent_dim\n"), "cannot parse config"),
    "config_not_mapping": (["train", "--output", "{tmp}/run", "--config", "{tmp}/c.yaml"],
                           write("c.yaml", "- a\n- b\n"), "must be a mapping of sections"),
    "config_section_typo": (["train", "--output", "{tmp}/run", "--config", "{tmp}/c.yaml"],
                            write("c.yaml", "trian:\n  lr: 0.1\n"), "unknown config key 'trian' (did you mean 'train'?)"),
    "config_key_typo": (["train", "--output", "{tmp}/run", "--config", "{tmp}/c.yaml"],
                        write("c.yaml", "model:\n  latnet_dim: 8\n"),
                        "unknown config key 'model.latnet_dim' (did you mean 'latent_dim'?)"),
    "config_section_not_mapping": (["train", "--output", "{tmp}/run", "--config", "{tmp}/c.yaml"],
                                   write("c.yaml", "train: 5\n"), "train must be a mapping, got int"),
    "config_non_utf8": (["train", "--output", "{tmp}/run", "--config", "{tmp}/c.yaml"],
                        write("c.yaml", b"model:\n  encoder: \xff\n"), "cannot parse config"),
    "set_without_equals": (TRAIN + ["--set", "train.lr"], None, "--set expects key=value, got 'train.lr'"),
    "set_key_typo": (TRAIN + ["--set", "train.learning_rate=1"], None,
                     "unknown config key 'train.learning_rate'"),
    "set_unknown_section_typo": (TRAIN + ["--set", "modle.latent_dim=3"], None, "(did you mean 'model'?)"),
    "negative_latent": (TRAIN + ["--set", "model.latent_dim=-4"], None, "model.latent_dim must be > 0, got -4"),
    "latent_not_int": (TRAIN + ["--set", "model.latent_dim=abc"], None,
                       "model.latent_dim must be int, got 'abc' (str)"),
    "latent_float": (TRAIN + ["--set", "model.latent_dim=1.5"], None, "model.latent_dim must be int, got 1.5"),
    "negative_beta": (TRAIN + ["--set", "objective.beta=-1"], None, "objective.beta must be >= 0, got -1"),
    "zero_lr": (TRAIN + ["--set", "train.lr=0"], None, "train.lr must be > 0, got 0"),
    "nan_lr": (TRAIN + ["--set", "train.lr=.nan"], None, "train.lr must be > 0, got nan"),
    "dropout_range": (TRAIN + ["--set", "model.dropout=1.5"], None, "model.dropout must be in [0, 1), got 1.5"),
    "word_dropout_range": (TRAIN + ["--set", "objective.word_dropout=2"], None,
                           "objective.word_dropout must be in [0, 1], got 2"),
    "transformer_data_max_length": (TRAIN + ["--set", "model.decoder=transformer", "--set", "model.max_positions=30",
                                             "--set", "data.max_length=64"], None,
                                    "data.max_length 64 is too long for model.max_positions=30 (at most 29)"),
    "transformer_max_length": (["sample", "--model", "{transformer}", "--max-length", "40"], None,
                               "max_length 40 exceeds what this decoder can generate (29 tokens with max_positions=30)"),
    "batch_size_zero": (TRAIN + ["--set", "train.batch_size=0"], None, "train.batch_size must be > 0"),
    "bool_type": (TRAIN + ["--set", "model.variational=maybe"], None, "model.variational must be bool, got 'maybe'"),
    "mixed_precision": (TRAIN + ["--set", "train.mixed_precision=fp8"], None,
                        "train.mixed_precision must be no, bf16 or fp16"),
    "unknown_decoder": (TRAIN + ["--set", "model.decoder=lstm"], None, "unknown decoder 'lstm'"),
    "unknown_tokenizer": (TRAIN + ["--set", "data.tokenizer=bpe"], None, "unknown tokenizer 'bpe'"),
    "unknown_beta_schedule": (TRAIN + ["--set", "objective.beta_schedule=cosin"], None,
                              "unknown beta schedule 'cosin'"),
    "unknown_lr_schedule": (TRAIN + ["--set", "train.lr_schedule=cosine_typo"], None,
                            "unknown train.lr_schedule 'cosine_typo'"),
    "valid_fraction_range": (TRAIN + ["--set", "data.valid_fraction=1"], None,
                             "data.valid_fraction must be in [0, 1), got 1.0"),
    # data files
    "no_data_train": (["train", "--output", "{tmp}/run"], None, "data.train is not set"),
    "data_missing": (TRAIN + ["--set", "data.train={tmp}/none.txt"], None, "data file not found"),
    "data_empty": (TRAIN + ["--set", "data.train={tmp}/e.txt"], write("e.txt", ""), "no text found"),
    "data_whitespace_only": (TRAIN + ["--set", "data.train={tmp}/e.txt"], write("e.txt", "  \n\t\n \n"),
                             "no text found"),
    "data_non_utf8": (TRAIN + ["--set", "data.train={tmp}/b.txt"], write("b.txt", b"fine line\nbad \xff\xfe byte\n"),
                      "b.txt:2: not valid UTF-8"),
    "tsv_column_name": (TRAIN + ["--set", "data.train={tmp}/d.tsv", "--set", "data.column=text"],
                        write("d.tsv", "a\tb\n"), "a TSV column must be given by index"),
    "tsv_column_missing": (TRAIN + ["--set", "data.train={tmp}/d.tsv", "--set", "data.column=3"],
                           write("d.tsv", "a\tb\n"), "d.tsv:1: has 2 tab-separated column(s), column 3 requested"),
    "negative_column": (TRAIN + ["--set", "data.column=-1"], None, "data.column must be >= 0, got -1"),
    "output_is_a_file": (TRAIN + ["--output", "{tmp}/f.txt"], write("f.txt", "x"), "f.txt exists and is not a folder"),
    "output_under_a_file": (TRAIN + ["--output", "{tmp}/f.txt/run"], write("f.txt", "x"),
                            "Not a directory: {tmp}/f.txt/run"),
    "valid_missing": (TRAIN + ["--set", "data.valid={tmp}/none.txt"], None, "data file not found"),
    "resume_without_checkpoint": (TRAIN + ["--resume"], None, "no training checkpoint to resume from"),
    "resume_corrupted_state": (TRAIN + ["--resume"], with_training_state(_truncate_file("trainer_state.json")),
                               "trainer_state.json is corrupted"),
    "resume_truncated_tensors": (TRAIN + ["--resume"],
                                 with_training_state(_truncate_file("trainer_state.safetensors")),
                                 "trainer_state.safetensors is truncated or corrupted"),
    "resume_format_version": (TRAIN + ["--resume"], with_training_state(_state_version(7)),
                              "was saved in format version 7; this textvae reads version 1"),
    "resume_mismatched_state": (TRAIN + ["--resume"], with_training_state(lambda folder: None),
                                "does not match this config"),
    "evaluate_data_missing": (["evaluate", "--model", "{word}", "--data", "{tmp}/none.txt"], None,
                              "data file not found"),
    "evaluate_batch_size": (["evaluate", "--model", "{word}", "--data", "{train}", "--batch-size", "0"], None,
                            "--batch-size must be > 0, got 0"),
    "evaluate_iw_samples": (["evaluate", "--model", "{word}", "--data", "{train}", "--iw-samples", "-1"], None,
                            "--iw-samples must be >= 0, got -1"),
    # saved models: missing, truncated, corrupted, incompatible
    "model_folder_missing": (["sample", "--model", "{tmp}/none"], None, "model folder not found"),
    "config_json_missing": (SAMPLE, remove("word/config.json"), "config.json is missing"),
    "config_json_truncated": (SAMPLE, truncate("word/config.json", 30), "config.json is corrupted"),
    "config_json_not_textvae": (SAMPLE, write("word/config.json", "[1, 2]"), "is not a textvae model config"),
    "format_version": (SAMPLE, edit_config(setitem(["format_version"], 99)),
                       "was saved in format version 99; this textvae reads version 1"),
    "model_type_mismatch": (SAMPLE, edit_config(setitem(["model_type"], "image_vae")),
                            "'image_vae'"),  # wording depends on the model registry
    "saved_config_unknown_key": (SAMPLE, edit_config(setitem(["config", "latnet_dim"], 3)),
                                 "unknown config key 'model.latnet_dim' (did you mean 'latent_dim'?)"),
    "saved_config_bad_value": (SAMPLE, edit_config(setitem(["config", "latent_dim"], -1)),
                               "model.latent_dim must be > 0, got -1"),
    "weights_missing": (SAMPLE, remove("word/model.safetensors"), "model.safetensors is missing"),
    "weights_truncated": (SAMPLE, truncate("word/model.safetensors", 100), "model.safetensors is truncated or corrupted"),
    "weights_garbage": (SAMPLE, write("word/model.safetensors", b"\x00" * 64), "is truncated or corrupted"),
    "weights_pickle": (SAMPLE, write("word/model.safetensors", b"\x80\x04\x95" + b"cos\nsystem\n" * 5),
                       "is truncated or corrupted"),
    "weights_wrong_shapes": (SAMPLE, swap_weights, "model.safetensors does not match the config"),
    "tokenizer_missing": (SAMPLE, remove("word/tokenizer.json"), "tokenizer.json is missing"),
    "tokenizer_corrupted": (SAMPLE, truncate("word/tokenizer.json", 15), "tokenizer.json is corrupted"),
    "tokenizer_unknown_kind": (SAMPLE, write("word/tokenizer.json", '{"kind": "bpe"}'), "unknown tokenizer 'bpe'"),
    "tokenizer_no_vocab": (SAMPLE, write("word/tokenizer.json", '{"kind": "word"}'),
                           "tokenizer.json is corrupted: no 'vocab'"),
    "tokenizer_size_mismatch": (SAMPLE, write("word/tokenizer.json", '{"kind": "word", "vocab": ["<pad>", "a"]}'),
                                "does not match the tokenizer size 2"),
    "spm_missing": (["sample", "--model", "{sentencepiece}"], remove("sentencepiece/spm.model"), "spm.model is missing"),
    "spm_corrupted": (["sample", "--model", "{sentencepiece}"], truncate("sentencepiece/spm.model", 50),
                      "spm.model is not a valid SentencePiece model"),
    # decoding options and text arguments
    "sample_n_zero": (SAMPLE + ["-n", "0"], None, "n must be > 0, got 0"),
    "top_p_above_one": (SAMPLE + ["--strategy", "sample", "--top-p", "1.5"], None, "top_p must be in (0, 1], got 1.5"),
    "top_p_zero": (SAMPLE + ["--strategy", "sample", "--top-p", "0"], None, "top_p must be in (0, 1], got 0.0"),
    "no_repeat_negative": (SAMPLE + ["--no-repeat-ngram-size", "-1"], None, "no_repeat_ngram_size must be >= 0, got -1"),
    "temperature_zero": (SAMPLE + ["--strategy", "sample", "--temperature", "0"], None,
                         "temperature must be > 0, got 0.0"),
    "top_k_negative": (SAMPLE + ["--strategy", "sample", "--top-k", "-1"], None, "top_k must be >= 0, got -1"),
    "beam_size_zero": (SAMPLE + ["--strategy", "beam", "--beam-size", "0"], None, "beam_size must be >= 1, got 0"),
    "max_length_zero": (SAMPLE + ["--max-length", "0"], None, "max_length must be > 0, got 0"),
    "reconstruct_whitespace": (["reconstruct", "--model", "{word}", "  \t "], None,
                               "text #0 is empty or whitespace only"),
    "reconstruct_empty": (["reconstruct", "--model", "{word}", "ok text", ""], None,
                          "text #1 is empty or whitespace only"),
    "paraphrase_n_zero": (["paraphrase", "--model", "{word}", "the market", "-n", "0"], None, "n must be > 0, got 0"),
    "paraphrase_scale": (["paraphrase", "--model", "{word}", "the market", "--scale", "-1"], None,
                         "scale must be >= 0, got -1.0"),
    "paraphrase_empty": (["paraphrase", "--model", "{word}", " "], None, "text #0 is empty or whitespace only"),
    "respond_not_conditional": (["respond", "--model", "{word}", "hello there"], None, "is not a conditional model"),
    "respond_without_turns": (["respond", "-n", "3"], None, "the following arguments are required: TURN"),
    "interpolate_steps": (["interpolate", "--model", "{word}", "a b", "c d", "--steps", "1"], None,
                          "steps must be >= 2, got 1"),
    # argparse usage errors are one line too
    "cli_no_command": ([], None, "error: the following arguments are required: COMMAND (see 'textvae --help')"),
    "cli_unknown_command": (["sampel"], None, "invalid choice: 'sampel'"),
    "cli_n_not_int": (SAMPLE + ["-n", "abc"], None, "argument -n: invalid int value: 'abc' (see 'textvae sample --help')"),
    "cli_top_p_not_float": (SAMPLE + ["--top-p", "high"], None, "argument --top-p: invalid float value: 'high'"),
    "cli_unknown_strategy": (SAMPLE + ["--strategy", "nucleus"], None, "argument --strategy: invalid choice: 'nucleus'"),
    "cli_missing_output": (["train", "--config", "x.yaml"], None, "the following arguments are required: --output"),
    "cli_unknown_option": (SAMPLE + ["--temprature", "0.5"], None, "unrecognized arguments: --temprature 0.5"),
    # the image side
    "image_unknown_model": (["image", "train", "--model", "vea", "--output", "{tmp}/img"], None,
                            "unknown image model 'vea' (did you mean 'vae'?)"),
    "image_missing_data_dir": (["image", "train", "--model", "vae", "--data", "mnist", "--data-dir", "{tmp}/none"],
                               None, "mnist folder not found"),
    "image_empty_data_dir": (["image", "train", "--model", "vae", "--data", "mnist", "--data-dir", "{tmp}"], None,
                             "has no t10k-images-idx3-ubyte"),
    "image_unknown_data": (["image", "train", "--model", "vae", "--data", "cifar"], None,
                           "unknown image data set 'cifar'"),
    "image_epochs": (["image", "train", "--model", "vae", "--epochs", "0"], None, "epochs must be > 0, got 0"),
    "image_unknown_set_key": (["image", "train", "--model", "vae", "--set", "latnet_dim=3"], None,
                              "unknown config key 'latnet_dim'"),
    "image_wrong_type": (["image", "train", "--model", "vae", "--set", "beta=high"], None,
                         "beta must be float, got 'high' (str)"),
    "image_train_limit": (["image", "train", "--model", "vae", "--train-limit", "0"], None,
                          "--train-limit must be > 0, got 0"),
}


@pytest.mark.parametrize("name", list(CLI_CASES))
def test_cli_bad_input_is_one_clear_line(name, ctx, capsys, monkeypatch):
    argv, setup, message = CLI_CASES[name]
    monkeypatch.chdir(ctx["tmp"])
    if setup is not None:
        setup(ctx)
    argv = [arg.format(**{k: str(v) for k, v in ctx.items()}) for arg in argv]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse: usage errors
            code = exit.code
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message.format(**{k: str(v) for k, v in ctx.items()}) in err


# ---- the Python API ----------------------------------------------------------------------------------

API_CASES = {
    "encode_empty_list": (lambda m: m.encode([]), TextVAEError, "no texts given"),
    "encode_whitespace": (lambda m: m.encode(["ok", " \n "]), TextVAEError, "text #1 is empty or whitespace only"),
    "encode_empty_string": (lambda m: m.encode(""), TextVAEError, "text #0 is empty or whitespace only"),
    "encode_control_only": (lambda m: m.encode(["\x00\x07\x1b"]), TextVAEError, "text #0 is empty or whitespace only"),
    "encode_not_text": (lambda m: m.encode([3]), TextVAEError, "text #0 must be a str, got int"),
    "encode_none": (lambda m: m.encode(None), TextVAEError, "texts must be a str or a list of str, got NoneType"),
    "decode_wrong_shape": (lambda m: m.decode(torch.zeros(2, 3)), TextVAEError, "z must have shape (n, 4), got (2, 3)"),
    "decode_nan": (lambda m: m.decode(torch.full((1, 4), float("nan"))), TextVAEError, "z contains NaN or Inf"),
    "decode_not_numbers": (lambda m: m.decode("abc"), TextVAEError, "z must be a tensor or array of numbers"),
    "decode_unknown_strategy": (lambda m: m.decode(torch.zeros(1, 4), strategy="nucleus"), ConfigError,
                                "unknown decoding strategy 'nucleus'"),
    "decode_unknown_option": (lambda m: m.decode(torch.zeros(1, 4), top_q=0.9), TextVAEError,
                              "unknown decoding option 'top_q' (did you mean 'top_p'?)"),
    "decode_top_p": (lambda m: m.decode(torch.zeros(1, 4), strategy="sample", top_p=1.01), ConfigError,
                     "top_p must be in (0, 1], got 1.01"),
    "decode_without_z": (lambda m: m.decode(None), TextVAEError, "decode needs z, or num"),
    "sample_negative": (lambda m: m.sample(-2), TextVAEError, "n must be > 0, got -2"),
    "sample_not_int": (lambda m: m.sample("3"), TextVAEError, "n must be an int, got '3'"),
    "reconstruct_bad_temperature": (lambda m: m.reconstruct(["a b"], strategy="sample", temperature=-1),
                                    ConfigError, "temperature must be > 0, got -1"),
    "paraphrase_empty": (lambda m: m.paraphrase("   "), TextVAEError, "text #0 is empty or whitespace only"),
    "paraphrase_n": (lambda m: m.paraphrase("a b", n=0), TextVAEError, "n must be > 0, got 0"),
    "interpolate_method": (lambda m: m.interpolate("a b", "c d", method="cubic"), ConfigError,
                           "unknown interpolation method 'cubic'"),
    "interpolate_steps": (lambda m: m.interpolate("a b", "c d", steps=0), TextVAEError, "steps must be >= 2, got 0"),
    "from_pretrained_missing": (lambda m: TextVAE.from_pretrained("/no/such/model"), CheckpointError,
                                "model folder not found: /no/such/model"),
    "from_pretrained_file": (lambda m: TextVAE.from_pretrained(__file__), CheckpointError, "model folder not found"),
}


@pytest.mark.parametrize("name", list(API_CASES))
def test_api_bad_input_raises_a_clear_error(name, model):
    call, error, message = API_CASES[name]
    with pytest.raises(error) as info:
        call(model)
    assert message in str(info.value)


@pytest.fixture(scope="module")
def conditional(saved) -> TextVAE:
    from textvae.models.conditional import ConditionalTextVAE

    word = TextVAE.from_pretrained(saved["word"], device="cpu")
    return ConditionalTextVAE(dataclasses.replace(word.config, type="conditional_vae"), word.tokenizer).eval()


CONDITIONAL_CASES = {
    "generate_no_sources": (lambda m: m.generate([]), TextVAEError, "no texts given"),
    "respond_whitespace": (lambda m: m.respond("  "), TextVAEError, "text #0 is empty or whitespace only"),
    "respond_option_typo": (lambda m: m.respond("a b", top_q=1), ConfigError,
                            "unknown decoding option 'top_q' (did you mean 'top_p'?)"),
    "generate_n_zero": (lambda m: m.generate(["a b"], n=0), TextVAEError, "n must be > 0, got 0"),
    "respond_top_p": (lambda m: m.respond("a b", strategy="sample", top_p=2), ConfigError,
                      "top_p must be in (0, 1], got 2"),
    "conditional_encode": (lambda m: m.encode(["a b"]), TextVAEError, "a conditional model has no q(z|x)"),
}


@pytest.mark.parametrize("name", list(CONDITIONAL_CASES))
def test_conditional_api_bad_input(name, conditional):
    call, error, message = CONDITIONAL_CASES[name]
    with pytest.raises(error) as info:
        call(conditional)
    assert message in str(info.value)


CONFIG_CASES = {
    "model_latent": ("ModelConfig", {"latent_dim": 0}, "model.latent_dim must be > 0, got 0"),
    "model_typo": ("ModelConfig", {"hiden_dim": 3}, "unknown config key 'model.hiden_dim' (did you mean 'hidden_dim'?)"),
    "objective_beta": ("ObjectiveConfig", {"beta": -0.5}, "objective.beta must be >= 0, got -0.5"),
    "objective_free_bits": ("ObjectiveConfig", {"free_bits": -1}, "objective.free_bits must be >= 0"),
    "train_epochs": ("TrainConfig", {"epochs": 0}, "train.epochs must be > 0, got 0"),
    "train_lr_string": ("TrainConfig", {"lr": "fast"}, "train.lr must be float, got 'fast' (str)"),
    "data_max_length": ("DataConfig", {"max_length": -1}, "data.max_length must be > 0, got -1"),
    "data_vocab": ("DataConfig", {"vocab_size": -5}, "data.vocab_size must be >= 0, got -5"),
}


@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_config_values_are_validated(name):
    from textvae import config

    cls, data, message = CONFIG_CASES[name]
    prefix = {"ModelConfig": "model.", "ObjectiveConfig": "objective.", "TrainConfig": "train.",
              "DataConfig": "data."}[cls]
    with pytest.raises(ConfigError) as info:
        config.from_dict(getattr(config, cls), data, prefix)
    assert message in str(info.value)


DATA_CASES = {
    "missing": (None, "data file not found"),
    "empty": (b"", "no text found"),
    "blank_lines": (b"\n \n\t\n", "no text found"),
    "latin1": ("caf\u00e9\n".encode("latin-1"), "data.txt:1: not valid UTF-8"),
    "utf16": ("hello\n".encode("utf-16"), "data.txt:1: not valid UTF-8"),
}


@pytest.mark.parametrize("name", list(DATA_CASES))
def test_data_files_fail_with_file_and_line(name, tmp_path):
    from textvae.data import load_texts

    content, message = DATA_CASES[name]
    path = tmp_path / "data.txt"
    if content is not None:
        path.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError) as info:
            load_texts(path)
    assert message in str(info.value)


# ---- odd but valid text: never a crash ---------------------------------------------------------------

ODD_TEXTS = {
    "cjk": "東京の株式市場は下落した",
    "emoji": "stocks 📉 fell 😱 today",
    "control_chars": "the\x00 market\x07 fell\x1b[31m sharply\r",
    "mixed_scripts": "Ça va? Москва 서울 ١٢٣",
    "combining_marks": "cafe\u0301 nai\u0308ve",
    "zero_width": "zero\u200bwidth\ufeff text",
}


@pytest.mark.parametrize("kind", ["word", "sentencepiece"])
@pytest.mark.parametrize("name", list(ODD_TEXTS))
def test_odd_text_produces_output(name, kind, saved):
    model = TextVAE.from_pretrained(saved[kind], device="cpu")
    mu, logvar = model.encode([ODD_TEXTS[name]])
    assert mu.shape == (1, 4) and torch.isfinite(mu).all() and torch.isfinite(logvar).all()
    out = model.reconstruct([ODD_TEXTS[name]])
    assert len(out) == 1 and isinstance(out[0], str)


def test_very_long_text_is_truncated_with_one_warning(model):
    long = " ".join(["the market fell"] * 400)  # 1200 words, max_positions is 32
    with pytest.warns(UserWarning, match="truncated to 31 tokens") as record:
        mu, _ = model.encode([long, long, "short"])
    assert mu.shape == (3, 4) and len([w for w in record if "truncated" in str(w.message)]) == 1
    with pytest.warns(UserWarning, match="truncated"):
        assert len(model.reconstruct([long])) == 1


def test_very_long_training_sentences_are_truncated_with_a_warning(saved, tmp_path):
    from textvae.config import load_experiment
    from textvae.training import train

    data = tmp_path / "long.txt"
    data.write_text("\n".join([" ".join(["word"] * 200)] + ["a short line"] * 20) + "\n", encoding="utf-8")
    config = load_experiment(None, [f"data.train={data}", "data.tokenizer=word", "data.max_length=16",
                                    "model.encoder=gru", "model.embed_dim=8", "model.hidden_dim=8",
                                    "model.latent_dim=2", "train.max_steps=1"])
    with pytest.warns(UserWarning, match="1 training sentence"):
        train(config, tmp_path / "run", show_progress=False)


def test_case_count():
    total = (len(CLI_CASES) + len(API_CASES) + len(CONDITIONAL_CASES) + len(CONFIG_CASES) + len(DATA_CASES) + 2 * len(ODD_TEXTS) + 2)
    assert total >= 50


def test_cli_truncation_warning_is_one_line(saved):
    import os
    import subprocess
    import sys

    long = " ".join(["the market fell"] * 100)
    result = subprocess.run([sys.executable, "-m", "textvae.cli.main", "reconstruct", "--model", str(saved["word"]),
                             long, "--json"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0 and json.loads(result.stdout)["reconstructions"][0]["input"] == long
    assert result.stderr == "warning: 1 text(s) longer than 31 tokens (text #0: 300) truncated to 31 tokens\n"


def test_long_sentences_fit_a_transformer_decoder_with_a_warning(saved, tmp_path, capsys):
    data = tmp_path / "long.txt"
    data.write_text(" ".join(["the market fell"] * 30) + "\nstocks rose\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="1 sentence\\(s\\) longer than the decoder's 29 tokens"):
        code = main(["evaluate", "--model", str(saved["transformer"]), "--data", str(data), "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["sentences"] == 2
    model = TextVAE.from_pretrained(saved["transformer"], device="cpu")
    with pytest.warns(UserWarning, match="truncated to 29 tokens"):
        assert len(model.reconstruct([" ".join(["the market fell"] * 30)])) == 1
