"""The JSON API: one endpoint per operation, each calling the library's own functions.

Endpoints are plain functions, so the framework runs them in its thread pool: a model call blocks one
worker thread (holding that model's lock), never the event loop.
"""

from __future__ import annotations

from typing import Annotated

import torch
from fastapi import APIRouter, Depends, Request
from torch import Tensor

from textvae.apps import analogy, attribute_vector, contrast, latent_path, shift
from textvae.errors import TextVAEError
from textvae.server import schemas as s
from textvae.server.explorer import Explorer, Slot

router = APIRouter(prefix="/api")


def explorer(request: Request) -> Explorer:
    return request.app.state.explorer


Served = Annotated[Explorer, Depends(explorer)]


def rows(values: Tensor) -> list[list[float]]:
    """A (m, k) tensor as JSON-ready rows, rounded to 5 decimals (plenty for a latent or a map position)."""
    return [[round(v, 5) for v in row] for row in values.tolist()]


def latents(model, values: list[list[float]]) -> Tensor:
    """Latent vectors as an (m, latent_dim) tensor, or an error naming the length they must have."""
    dim = model.config.latent_dim
    wrong = next((len(row) for row in values if len(row) != dim), None)
    if wrong is not None:
        raise TextVAEError(f"z must have {dim} numbers (this model's latent_dim), got {wrong}")
    return torch.tensor(values)


def model_info(slot: Slot) -> s.ModelInfo:
    config = slot.model.config
    return s.ModelInfo(name=slot.label, latent_dim=config.latent_dim, variational=config.variational,
                       paraphrase_scale=config.paraphrase_scale)


@router.get("/info")
def info(ex: Served) -> s.InfoResponse:
    """Which models are loaded, the map corpus, and the request limits."""
    limits = {"text_chars": s.MAX_TEXT_CHARS, "n": s.MAX_N, "steps": s.MAX_STEPS, "texts": s.MAX_TEXTS,
              "scale": s.MAX_SCALE}
    dialogue = ex.slots.get("dialogue")
    return s.InfoResponse(vae=model_info(ex.slots["vae"]), ae=model_info(ex.slots["ae"]),
                          dialogue=model_info(dialogue) if dialogue else None, corpus=ex.corpus_name,
                          corpus_size=len(ex.corpus), limits=limits)


@router.post("/paraphrase")
def paraphrase(body: s.ParaphraseRequest, ex: Served) -> s.ParaphraseResponse:
    """Up to n distinct paraphrases: decodes of z = mu + scale * sigma * eps around the text's posterior."""
    with ex.hold("vae") as (vae,):
        scale = vae.paraphrase_scale(body.scale)
        texts = vae.paraphrase(body.text, n=body.n, scale=scale, strategy=body.strategy, rerank=body.rerank)
    return s.ParaphraseResponse(input=body.text, scale=scale, paraphrases=texts)


def walk(ex: Explorer, space: str, body: s.InterpolateRequest) -> s.LatentPath:
    """Decodes of `steps` points from the posterior mean of a to that of b in one latent space."""
    with ex.hold(space) as (model,):
        mu, _ = model.encode([body.a, body.b])
        z = latent_path(mu[0], mu[1], body.steps, body.method)
        return s.LatentPath(texts=model.decode(z), z=rows(z))


@router.post("/interpolate")
def interpolate(body: s.InterpolateRequest, ex: Served) -> s.InterpolateResponse:
    """The same walk from a to b in the VAE's latent space and in the autoencoder's, side by side."""
    return s.InterpolateResponse(method=body.method, vae=walk(ex, "vae", body), ae=walk(ex, "ae", body))


@router.post("/analogy")
def analogies(body: s.AnalogyRequest, ex: Served) -> s.AnalogyResponse:
    """The decode of mu_c + mu_b - mu_a in the VAE's space and in the autoencoder's."""
    answers = {}
    for space in ("vae", "ae"):
        with ex.hold(space) as (model,):
            answers[space] = analogy(model, body.a, body.b, body.c)
    return s.AnalogyResponse(**answers)


@router.post("/shift")
def shift_text(body: s.ShiftRequest, ex: Served) -> s.ShiftResponse:
    """The decode of mu_text + strength * (mean mu of with_texts - mean mu of without_texts)."""
    with ex.hold(body.space) as (model,):
        vector = attribute_vector(model, body.with_texts, body.without_texts)
        return s.ShiftResponse(input=body.text, shifted=shift(model, [body.text], vector, body.strength)[0])


@router.post("/contrast")
def contrast_models(body: s.ContrastRequest, ex: Served) -> s.ContrastResponse:
    """Deterministic (AE) vs sampled (VAE) outputs for one text."""
    with ex.hold("vae", "ae") as (vae, ae):
        return s.ContrastResponse(**contrast(vae, ae, body.text, n=body.n))


@router.post("/respond",
             responses={400: {"model": s.ErrorResponse, "description": "no dialogue model loaded"}})
def respond(body: s.RespondRequest, ex: Served) -> s.RespondResponse:
    """n replies to a dialogue context, each from its own z ~ p(z | context), and the one deterministic reply
    (the greedy decode of the prior mean)."""
    with ex.hold("dialogue") as (model,):
        responses = model.respond(body.text, n=body.n, strategy=body.strategy)
        deterministic = model.respond(body.text, deterministic=True)[0]
    return s.RespondResponse(input=body.text, deterministic=deterministic, responses=responses)


@router.post("/sample")
def sample(body: s.SampleRequest, ex: Served) -> s.SampleResponse:
    """n decodes of z ~ N(0, I) in one latent space (an autoencoder's has holes)."""
    with ex.hold(body.space) as (model,):
        return s.SampleResponse(texts=model.sample(body.n, strategy=body.strategy))


@router.post("/decode")
def decode(body: s.DecodeRequest, ex: Served) -> s.DecodeResponse:
    """The text at a latent vector z, or at a point (x, y) of the map (anywhere, not only at its dots)."""
    if body.point is not None:
        z = ex.latent_map(body.space).unproject(torch.tensor([body.point]))
    else:
        z = latents(ex.model(body.space), [body.z])
    with ex.hold(body.space) as (model,):
        text = model.decode(z, strategy=body.strategy)[0]
    latent_map = ex.cached_map(body.space)
    point = rows(latent_map.project(z))[0] if latent_map is not None else None
    return s.DecodeResponse(text=text, z=rows(z)[0], point=point)


@router.post("/encode")
def encode(body: s.EncodeRequest, ex: Served) -> s.EncodeResponse:
    """The posterior q(z|x) = N(mu, exp(logvar)) of each text."""
    with ex.hold(body.space) as (model,):
        mu, logvar = model.encode(body.texts)
    return s.EncodeResponse(mu=rows(mu), logvar=rows(logvar))


@router.get("/map")
def latent_map(ex: Served, space: s.SpaceName = "vae") -> s.MapResponse:
    """The corpus's posterior means on the 2-D PCA plane of a latent space (made once, on first use)."""
    plane = ex.latent_map(space)
    return s.MapResponse(space=space, texts=plane.texts, points=rows(plane.points),
                         explained_variance=[round(v, 5) for v in plane.explained_variance])


@router.post("/project")
def project(body: s.ProjectRequest, ex: Served) -> s.ProjectResponse:
    """Where texts (the encoder's posterior means, unrefined like the map's own points) or latent vectors lie on
    a space's map."""
    plane = ex.latent_map(body.space)
    if body.texts is not None:
        with ex.hold(body.space) as (model,):
            z, _ = model.encode(body.texts, refine_steps=0)
    else:
        z = latents(ex.model(body.space), body.z)
    return s.ProjectResponse(points=rows(plane.project(z)))
