"""Request and response bodies of the explorer's JSON API, and the limits every request is checked against."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_TEXT_CHARS = 500  # one sentence box, not a document
MAX_N = 50  # outputs per request
MAX_STEPS = 100  # points along an interpolation path
MAX_TEXTS = 100  # texts or latents in one encode / project request
MAX_SCALE = 10.0  # paraphrase scale S in z = mu + S * sigma * eps
MAX_LATENT_VALUE = 100.0  # |z_i|: a hundred prior standard deviations out is already meaningless

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS)]
Count = Annotated[int, Field(ge=1, le=MAX_N)]
Strategy = Literal["greedy", "sample", "beam"]
Method = Literal["linear", "slerp"]
SpaceName = Literal["vae", "ae"]  # the latent space a request reads: the VAE's or its autoencoder twin's
Coordinate = Annotated[float, Field(ge=-MAX_LATENT_VALUE, le=MAX_LATENT_VALUE)]
Latent = Annotated[list[Coordinate], Field(min_length=1, max_length=4096)]
Point = Annotated[list[Coordinate], Field(min_length=2, max_length=2)]  # on the map's unit-length axes


def exactly_one(request: BaseModel, first: str, second: str, names: str) -> BaseModel:
    """`request` if exactly one of two alternative fields is given, else a validation error."""
    if (getattr(request, first) is None) == (getattr(request, second) is None):
        raise ValueError(f"give exactly one of {names}")
    return request


class Request(BaseModel):
    """Unknown fields, NaN and Inf are refused; numbers are not read from strings."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ParaphraseRequest(Request):
    text: Text
    n: Count = 5
    scale: float | None = Field(None, ge=0, le=MAX_SCALE, description="None: the model's default scale")
    strategy: Strategy | None = Field(None, description="default: the model's paraphrase decoding (paraphrase_beam)")
    rerank: bool = Field(True, description="rank by similarity to the text, less the model's penalties on "
                        "copying it and on unlikely candidates (one more encoder pass)")


class ParaphraseResponse(BaseModel):
    input: str
    scale: float
    paraphrases: list[str]


class InterpolateRequest(Request):
    a: Text
    b: Text
    steps: int = Field(8, ge=2, le=MAX_STEPS)
    method: Method = "linear"


class LatentPath(BaseModel):
    texts: list[str]
    z: list[list[float]]


class InterpolateResponse(BaseModel):
    method: Method
    vae: LatentPath
    ae: LatentPath


class AnalogyRequest(Request):
    """a is to b as c is to ?"""

    a: Text
    b: Text
    c: Text


class AnalogyResponse(BaseModel):
    vae: str
    ae: str


class ShiftRequest(Request):
    """Move a text along the attribute vector mean mu(with_texts) - mean mu(without_texts)."""

    space: SpaceName = "vae"
    text: Text
    with_texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
    without_texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
    strength: float = Field(1.0, ge=-MAX_SCALE, le=MAX_SCALE)


class ShiftResponse(BaseModel):
    input: str
    shifted: str


class ContrastRequest(Request):
    text: Text
    n: Count = 5


class ContrastResponse(BaseModel):
    input: str
    ae_reconstruction: str
    vae_greedy_from_mu: str
    vae_posterior_samples: list[str]
    vae_prior_samples: list[str]
    ae_random_z: list[str]


class RespondRequest(Request):
    text: Text
    n: Count = 5
    strategy: Strategy | None = Field(None, description="default: the model's reply decoding (reply_top_p)")


class RespondResponse(BaseModel):
    input: str
    deterministic: str = Field(description="the greedy decode of the prior mean: the reply without variation")
    responses: list[str]


class SampleRequest(Request):
    space: SpaceName = "vae"
    n: Count = 5
    strategy: Strategy = "greedy"


class SampleResponse(BaseModel):
    texts: list[str]


class DecodeRequest(Request):
    """Exactly one of `z` (a latent vector) or `point` (x, y on the space's 2-D map)."""

    space: SpaceName = "vae"
    z: Latent | None = None
    point: Point | None = None
    strategy: Strategy = "greedy"

    @model_validator(mode="after")
    def one_location(self) -> DecodeRequest:
        return exactly_one(self, "z", "point", "z (a latent vector) or point (x, y on the map)")


class DecodeResponse(BaseModel):
    text: str
    z: list[float]
    point: list[float] | None = Field(None, description="where z lies on the map, once the map exists")


class EncodeRequest(Request):
    space: SpaceName = "vae"
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]


class EncodeResponse(BaseModel):
    mu: list[list[float]]
    logvar: list[list[float]]


class MapResponse(BaseModel):
    space: SpaceName
    texts: list[str]
    points: list[list[float]]
    explained_variance: list[float] = Field(description="fraction of the corpus's variance along each axis")


class ProjectRequest(Request):
    """Exactly one of `texts` (placed at their posterior means) or `z` (latent vectors)."""

    space: SpaceName = "vae"
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)] | None = None
    z: Annotated[list[Latent], Field(min_length=1, max_length=MAX_TEXTS)] | None = None

    @model_validator(mode="after")
    def one_source(self) -> ProjectRequest:
        return exactly_one(self, "texts", "z", "texts or z")


class ProjectResponse(BaseModel):
    points: list[list[float]]


class ModelInfo(BaseModel):
    name: str
    latent_dim: int
    variational: bool
    paraphrase_scale: float


class InfoResponse(BaseModel):
    vae: ModelInfo
    ae: ModelInfo
    dialogue: ModelInfo | None
    corpus: str
    corpus_size: int
    limits: dict[str, int | float]


class ErrorResponse(BaseModel):
    error: str
