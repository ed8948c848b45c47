"""The explorer's JSON API through FastAPI's test client, on tiny untrained models."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from textvae import TextVAE
from textvae.cli.main import main
from textvae.errors import DataError, TextVAEError
from textvae.models import ConditionalTextVAE
from textvae.server import Explorer, create_app, read_corpus
from textvae.server.background import serve_in_thread
from textvae.server.explorer import MAX_CORPUS, load_explorer

LATENT_DIM = 8  # tiny_config's


def save_tiny_models(folder: Path, config, tokenizer) -> dict[str, Path]:
    """Untrained models saved under `folder`: a VAE, its AE twin and a conditional (dialogue) model."""
    torch.manual_seed(0)
    configs = {"vae": config, "ae": dataclasses.replace(config, variational=False),
               "dialogue": dataclasses.replace(config, type="conditional_vae", condition_dim=16)}
    for name, model_config in configs.items():
        klass = ConditionalTextVAE if model_config.type == "conditional_vae" else TextVAE
        klass(model_config, tokenizer).save_pretrained(folder / name)
    return {name: folder / name for name in configs}


@pytest.fixture()
def model_dirs(tmp_path, tiny_config, word_tokenizer) -> dict[str, Path]:
    return save_tiny_models(tmp_path, tiny_config, word_tokenizer)


@pytest.fixture()
def explorer(model_dirs) -> Explorer:
    return load_explorer(model_dirs["vae"], model_dirs["ae"])


@pytest.fixture()
def client(explorer):
    with TestClient(create_app(explorer), raise_server_exceptions=False) as test_client:
        yield test_client


def post(client, path: str, body) -> dict:
    response = client.post(f"/api/{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def close(a: list, b: list) -> bool:
    """Equal up to the API's rounding to 5 decimals (and float32 arithmetic)."""
    return torch.allclose(torch.tensor(a), torch.tensor(b), atol=1e-3)


def test_info_names_the_models_the_corpus_and_the_limits(client):
    info = client.get("/api/info").json()
    assert (info["vae"]["name"], info["ae"]["name"], info["dialogue"]) == ("vae", "ae", None)
    assert info["vae"]["latent_dim"] == LATENT_DIM
    assert info["vae"]["variational"] and not info["ae"]["variational"]
    assert info["corpus_size"] == len(read_corpus()) >= 200
    assert info["limits"]["n"] == 50 and info["limits"]["text_chars"] == 500


def test_paraphrase_returns_at_most_n_distinct_texts_at_the_scale_asked(client):
    torch.manual_seed(0)
    result = post(client, "paraphrase", {"text": "the market fell", "n": 4, "scale": 2.0,
                                         "strategy": "sample"})
    assert result["scale"] == 2.0 and result["input"] == "the market fell"
    paraphrases = result["paraphrases"]
    assert 1 <= len(paraphrases) <= 4 and len(set(paraphrases)) == len(paraphrases)
    assert post(client, "paraphrase", {"text": "the market fell"})["scale"] == 1.0  # the model's default
    unranked = post(client, "paraphrase", {"text": "the market fell", "n": 3, "rerank": False})
    assert len(unranked["paraphrases"]) <= 3


def test_interpolation_walks_both_spaces_from_one_posterior_mean_to_the_other(client):
    result = post(client, "interpolate", {"a": "the market fell", "b": "stocks rose", "steps": 5,
                                          "method": "slerp"})
    mu = post(client, "encode", {"texts": ["the market fell", "stocks rose"]})["mu"]
    for space in ("vae", "ae"):
        assert len(result[space]["texts"]) == 5 and len(result[space]["z"]) == 5
        assert all(len(z) == LATENT_DIM for z in result[space]["z"])
    assert result["vae"]["z"][0] == pytest.approx(mu[0], abs=1e-4)
    assert result["vae"]["z"][-1] == pytest.approx(mu[1], abs=1e-4)


def test_contrast_sample_encode_and_decode(client, explorer):
    result = post(client, "contrast", {"text": "the market fell", "n": 3})
    assert len(result["vae_posterior_samples"]) == 3 and len(result["ae_random_z"]) == 3
    assert isinstance(result["ae_reconstruction"], str)
    assert len(post(client, "sample", {"space": "ae", "n": 4})["texts"]) == 4
    encoded = post(client, "encode", {"space": "ae", "texts": ["the market fell", "stocks rose"]})
    assert len(encoded["mu"]) == len(encoded["logvar"]) == 2 and len(encoded["mu"][0]) == LATENT_DIM
    decoded = post(client, "decode", {"space": "ae", "z": encoded["mu"][0]})
    assert decoded["text"] == explorer.model("ae").decode(torch.tensor([encoded["mu"][0]]))[0]
    assert decoded["point"] is None  # no map made yet


def test_analogy_in_both_spaces_and_a_shift_along_an_attribute_vector(client):
    answers = post(client, "analogy", {"a": "the market fell", "b": "the market rose", "c": "stocks fell"})
    assert isinstance(answers["vae"], str) and isinstance(answers["ae"], str)
    shifted = post(client, "shift", {"space": "ae", "text": "stocks fell", "with_texts": ["prices rose"],
                                     "without_texts": ["prices fell"], "strength": 0.0})
    assert shifted["shifted"] == post(client, "decode", {"space": "ae", "z": post(
        client, "encode", {"space": "ae", "texts": ["stocks fell"]})["mu"][0]})["text"]


def test_the_map_is_made_once_and_any_point_of_it_decodes(client, explorer):
    first = client.get("/api/map").json()
    assert len(first["points"]) == len(first["texts"]) == len(explorer.corpus)
    assert all(len(point) == 2 for point in first["points"]) and 0 < sum(first["explained_variance"]) <= 1
    cached = explorer.cached_map("vae")
    assert client.get("/api/map?space=vae").json() == first and explorer.cached_map("vae") is cached
    assert explorer.cached_map("ae") is None  # each space gets its own map when first asked
    # the corpus's own sentences project onto their points (encoded here as given, for the map by length)
    projected = post(client, "project", {"texts": first["texts"][:3]})["points"]
    assert close(projected, first["points"][:3])
    # an empty region of the map decodes too, and the decoded latent lies on the map where it was asked
    far = [max(p[0] for p in first["points"]) + 1.0, 0.0]
    decoded = post(client, "decode", {"point": far})
    assert decoded["text"] and decoded["point"] == pytest.approx(far, abs=1e-3)
    assert close(post(client, "project", {"z": [decoded["z"]]})["points"], [far])


def test_a_corpus_file_replaces_the_built_in_sentences(model_dirs, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the market fell\n\nstocks rose\nthe market fell\nbonds were flat\n", encoding="utf-8")
    explorer = load_explorer(model_dirs["vae"], model_dirs["ae"], corpus=corpus)
    with TestClient(create_app(explorer)) as client:
        assert client.get("/api/info").json()["corpus"] == "corpus.txt"
        assert client.get("/api/map").json()["texts"] == ["the market fell", "stocks rose", "bonds were flat"]


def test_corpus_files_are_checked(tmp_path):
    for lines, problem in ((["one sentence"], "a map needs at least 2"),
                           ([f"sentence {i}" for i in range(MAX_CORPUS + 1)], "at most")):
        path = tmp_path / "corpus.txt"
        path.write_text("\n".join(lines), encoding="utf-8")
        with pytest.raises(DataError, match=problem):
            read_corpus(path)
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DataError, match="not UTF-8"):
        read_corpus(path)


def test_respond_needs_a_dialogue_model_and_uses_it_when_loaded(client, model_dirs):
    response = client.post("/api/respond", json={"text": "do you want to grab lunch ?"})
    assert response.status_code == 400 and "--dialogue" in response.json()["error"]
    explorer = load_explorer(model_dirs["vae"], model_dirs["ae"], model_dirs["dialogue"])
    with TestClient(create_app(explorer)) as dialogue_client:
        assert dialogue_client.get("/api/info").json()["dialogue"]["name"] == "dialogue"
        replies = post(dialogue_client, "respond", {"text": "do you want to grab lunch ?", "n": 3})
        assert len(replies["responses"]) == 3
        fixed = post(dialogue_client, "respond", {"text": "do you want to grab lunch ?", "n": 3})["deterministic"]
        assert fixed == replies["deterministic"] and fixed.strip()  # the prior mean's reply does not vary


def test_models_of_the_wrong_kind_are_refused(model_dirs):
    with pytest.raises(TextVAEError, match="--ae must be an autoencoder"):
        load_explorer(model_dirs["vae"], model_dirs["vae"])
    with pytest.raises(TextVAEError, match="--dialogue must be a conditional"):
        load_explorer(model_dirs["vae"], model_dirs["ae"], model_dirs["vae"])


Z = [0.0] * LATENT_DIM
BAD_REQUESTS = [
    ("paraphrase", {"text": "the market fell", "n": 10_000}, "n: Input should be less than or equal to 50"),
    ("paraphrase", {"text": "the market fell", "n": 0}, "n: Input should be greater than or equal to 1"),
    ("paraphrase", {"text": "the market fell", "n": "5"}, "n: Input should be a valid integer"),
    ("paraphrase", {"text": ""}, "text: String should have at least 1 character"),
    ("paraphrase", {"text": "   \n "}, "text: String should have at least 1 character"),
    ("paraphrase", {"text": "\x01\x02"}, "empty or whitespace only"),
    ("paraphrase", {"text": "word " * 200}, "text: String should have at most 500 characters"),
    ("paraphrase", {"n": 5}, "text: Field required"),
    ("paraphrase", {"text": "x", "scale": -1}, "scale: Input should be greater than or equal to 0"),
    ("paraphrase", {"text": "the market fell", "strategy": "nucleus"}, "strategy: Input should be"),
    ("paraphrase", {"text": "the market fell", "rerank": "yes"}, "rerank: Input should be a valid boolean"),
    ("paraphrase", {"text": "x", "path": "/etc/passwd"}, "path: Extra inputs are not permitted"),
    ("paraphrase", [1, 2], "body: Input should be a valid dictionary"),
    ("interpolate", {"a": "x", "b": "y", "method": "cubic"}, "method: Input should be 'linear' or 'slerp'"),
    ("interpolate", {"a": "x", "b": "y", "steps": 1}, "steps: Input should be greater than or equal to 2"),
    ("interpolate", {"a": "x", "b": "y", "steps": 10**6}, "steps: Input should be less than or equal to 100"),
    ("contrast", {"text": "x", "n": 51}, "n: Input should be less than or equal to 50"),
    ("analogy", {"a": "x", "b": "y"}, "c: Field required"),
    ("shift", {"text": "x", "with_texts": [], "without_texts": ["y"]}, "with_texts: List should have"),
    ("shift", {"text": "x", "with_texts": ["y"], "without_texts": ["z"], "strength": 1e6}, "strength: Input"),
    ("sample", {"space": "lm"}, "space: Input should be 'vae' or 'ae'"),
    ("decode", {"z": [0.0, 1.0]}, f"z must have {LATENT_DIM} numbers"),
    ("decode", {"z": [1e9] * LATENT_DIM}, "z.0: Input should be less than or equal to 100"),
    ("decode", {"z": [], "strategy": "greedy"}, "z: List should have at least 1 item"),
    ("decode", {"z": Z, "point": [0, 0]}, "give exactly one of z"),
    ("decode", {}, "give exactly one of z"),
    ("decode", {"point": [0, 0, 0]}, "point: List should have at most 2 items"),
    ("decode", {"point": [1e30, 0]}, "point.0: Input should be less than or equal to 100"),
    ("encode", {"texts": []}, "texts: List should have at least 1 item"),
    ("encode", {"texts": ["x"] * 101}, "texts: List should have at most 100 items"),
    ("project", {"z": [Z, Z[:3]]}, f"z must have {LATENT_DIM} numbers"),
    ("project", {"texts": ["x"], "z": [Z]}, "give exactly one of texts or z"),
]


@pytest.mark.parametrize(("path", "body", "problem"), BAD_REQUESTS,
                         ids=[f"{path}-{problem[:30]}" for path, _, problem in BAD_REQUESTS])
def test_bad_input_gets_a_4xx_naming_the_problem_and_the_server_keeps_serving(client, path, body, problem):
    response = client.post(f"/api/{path}", json=body)
    assert response.status_code == 422
    assert problem in response.json()["error"]
    assert "Traceback" not in response.text
    assert post(client, "paraphrase", {"text": "the market fell", "n": 2})["paraphrases"]


@pytest.mark.parametrize(("content", "problem"), [
    (b'{"text": "x", "scale": NaN}', "scale: Input should be a finite number"),
    (b'{"text": "x", "scale": 1e999}', "scale: Input should be a finite number"),
    (b'{"text": "x",', "body: invalid JSON"),
])
def test_malformed_json_is_refused(client, content, problem):
    response = client.post("/api/paraphrase", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422 and problem in response.json()["error"]


def test_oversized_bodies_are_refused_before_they_are_read(client):
    huge = b'{"text": "' + b"x" * (2 << 20) + b'"}'
    declared = client.post("/api/paraphrase", content=huge, headers={"content-type": "application/json"})
    chunks = iter([huge[i : i + 65536] for i in range(0, len(huge), 65536)])  # no content-length declared
    streamed = client.post("/api/paraphrase", content=chunks, headers={"content-type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413 and "request body is over" in response.json()["error"]


def test_a_map_point_can_only_be_decoded_in_a_known_space_and_nothing_names_a_file(client):
    assert client.get("/api/map?space=../../etc").status_code == 422
    assert client.get("/static/../explorer.py").status_code == 404
    assert client.get("/api/nowhere").json() == {"error": "Not Found"}
    assert client.get("/api/paraphrase").status_code == 405


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(client, explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(explorer.model("vae"), "paraphrase", broken)
    response = client.post("/api/paraphrase", json={"text": "the market fell"})
    assert response.status_code == 500 and response.json() == {
        "error": "internal server error (the server log has the details)"}
    assert "secret" not in response.text
    assert client.get("/api/info").status_code == 200


def test_one_call_at_a_time_per_model_while_parallel_requests_all_succeed(client, explorer, monkeypatch):
    active = {"vae": 0, "ae": 0}
    most = {"vae": 0, "ae": 0}
    guard = threading.Lock()

    def watched(space, decode):
        def decode_slowly(*args, **kwargs):
            with guard:
                active[space] += 1
                most[space] = max(most[space], active[space])
            time.sleep(0.01)
            try:
                return decode(*args, **kwargs)
            finally:
                with guard:
                    active[space] -= 1
        return decode_slowly

    for space in ("vae", "ae"):
        model = explorer.model(space)
        monkeypatch.setattr(model, "decode", watched(space, model.decode))
    requests = [("sample", {"space": "vae", "n": 2}), ("sample", {"space": "ae", "n": 2}),
                ("decode", {"space": "vae", "z": Z}), ("interpolate", {"a": "x", "b": "y", "steps": 3})] * 6
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda request: client.post(f"/api/{request[0]}", json=request[1]),
                                  requests))
    assert [r.status_code for r in responses] == [200] * len(requests)
    assert most == {"vae": 1, "ae": 1}


def test_load_on_a_real_server_every_request_answered(explorer):
    """200 requests from 20 concurrent clients over HTTP, mixed endpoints, all answered correctly."""
    requests = [("paraphrase", {"text": "the market fell", "n": 3}), ("sample", {"space": "ae", "n": 2}),
                ("decode", {"z": Z}), ("encode", {"texts": ["stocks rose"]}),
                ("interpolate", {"a": "x", "b": "y", "steps": 3})] * 40

    with serve_in_thread(create_app(explorer)) as url:
        def call(request) -> tuple[int, dict]:
            path, body = request
            message = urllib.request.Request(f"{url}api/{path}", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(message, timeout=60) as response:
                return response.status, json.load(response)

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(call, requests))
    assert [status for status, _ in answers] == [200] * 200
    samples = [answer for (path, _), (_, answer) in zip(requests, answers) if path == "sample"]
    assert len(samples) == 40 and all(len(answer["texts"]) == 2 for answer in samples)


def test_the_page_its_assets_and_the_api_docs_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "textvae explorer" in page.text
    for asset in ("static/app.js", "static/style.css"):
        response = client.get(f"/{asset}")
        assert response.status_code == 200 and asset in page.text
        assert "://" not in response.text  # works offline: nothing is fetched from elsewhere
    assert "://" not in page.text
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    endpoints = ["paraphrase", "interpolate", "contrast", "respond", "analogy", "shift", "sample", "decode",
                 "encode", "map", "project", "info"]
    assert {f"/api/{name}" for name in endpoints} <= set(paths)


def test_serve_command_binds_to_this_machine_by_default(model_dirs, monkeypatch, capsys):
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run",
                        lambda app, host, port, **kwargs: started.update(app=app, host=host, port=port))
    assert main(["serve", "--model", str(model_dirs["vae"]), "--ae", str(model_dirs["ae"])]) == 0
    assert started["host"] == "127.0.0.1" and started["port"] == 8000
    assert "http://127.0.0.1:8000/" in capsys.readouterr().out
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port must be between 1 and 65535" in capsys.readouterr().err
