"""textvae export --model DIR --output DIR [--dtype bfloat16|int8] [--paraphrase-scale S] [--reply-top-p P]
[--paraphrase-oversample K] [--paraphrase-beam K] [--rerank-overlap W] [--rerank-likelihood W] [--rerank-recovery W]
[--rerank-brevity W] [--refine-steps N] [--refine-lr LR] [--refine-momentum B] [--refine-anchor W] [--refine-early-stop]
[--paraphrase-center C] [--control-similarity C] [--control-novelty N] [--clean-up-tokenization-spaces]
[--table-rank R] [--lexicon-data CONFIG] [--truecase] [--license ID] [--dataset NAME] [--metric NAME=VALUE]"""

from __future__ import annotations

import argparse
import math

DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16", "float16": "float16", "fp16": "float16",
          "int8": "int8"}


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="copy a trained model for sharing: smaller weights, generation defaults",
                       description="Load a saved model and write it again to OUTPUT: weights optionally in a "
                                   "16-bit type or as int8 with a scale per row (they load back as float32), and "
                                   "the generation defaults (paraphrase scale, reply top-p, paraphrase candidates and "
                                   "ranking weights, latent refinement) recorded in its config.json.")
    p.add_argument("--model", required=True, help="saved model folder (a training run's folder works)")
    p.add_argument("--output", required=True, help="folder to write (config.json, model.safetensors, tokenizer)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float32",
                   help="weight type on disk (int8: each matrix rounded to 255 levels per row)")
    p.add_argument("--paraphrase-scale", type=float, default=None,
                   help="the model's default S for paraphrase/generate (z = mu + S * sigma * eps)")
    p.add_argument("--reply-top-p", type=float, default=None,
                   help="a conditional model's default decoding of each reply's z: nucleus sampling with this top_p")
    p.add_argument("--paraphrase-oversample", type=int, default=None,
                   help="paraphrase(): latents drawn per paraphrase asked, before deduplication and ranking")
    p.add_argument("--paraphrase-beam", type=int, default=None,
                   help="paraphrase(): decode each latent by beam search of this width (0: greedy)")
    p.add_argument("--refine-steps", type=int, default=None,
                   help="a VAE's latent refinement: Adam steps on z from mu before decoding (0: off)")
    p.add_argument("--refine-lr", type=float, default=None, help="the refinement's learning rate")
    p.add_argument("--refine-momentum", type=float, default=None, help="the refinement's momentum (Adam's beta1)")
    p.add_argument("--refine-anchor", type=float, default=None,
                   help="the refinement's pull towards the encoder's posterior (0: none)")
    p.add_argument("--refine-early-stop", action=argparse.BooleanOptionalAction, default=None,
                   help="the refinement stops for a text once the greedy decode of its z is the text")
    p.add_argument("--paraphrase-center", type=float, default=None,
                   help="a refining VAE's samples are centered this far from the encoder's mean (0) to the refined one (1)")
    p.add_argument("--control-similarity", type=float, default=None,
                   help="a quality-controlled model (model.control): the similarity to the input that generation "
                        "asks for")
    p.add_argument("--control-novelty", type=float, default=None,
                   help="a quality-controlled model: the share of tokens not in the input that generation asks for")
    p.add_argument("--clean-up-tokenization-spaces", action=argparse.BooleanOptionalAction, default=None,
                   help="decoded text loses the space a tokenized training corpus puts before punctuation "
                        "('sorry , I do n't know .' -> 'sorry, I don't know.')")
    p.add_argument("--rerank-overlap", type=float, default=None,
                   help="paraphrase ranking: weight of the penalty on a candidate's BLEU overlap with the input")
    p.add_argument("--rerank-likelihood", type=float, default=None,
                   help="paraphrase ranking: weight of the penalty on a candidate's per-token NLL given the input")
    p.add_argument("--rerank-recovery", type=float, default=None,
                   help="paraphrase ranking: weight of the penalty on the input's per-token NLL given a candidate")
    p.add_argument("--rerank-brevity", type=float, default=None,
                   help="paraphrase ranking: weight of the penalty on candidates shorter than the input (in words)")
    p.add_argument("--table-rank", type=int, default=None, dest="decoder_table_rank", metavar="R",
                   help="a decoder warm-started from the encoder (model.decoder_init: encoder): store its word "
                        "table as the encoder's plus the rank-R truncated SVD of the difference (lossy; 0: whole)")
    p.add_argument("--lexicon-data", default=None, metavar="CONFIG",
                   help="the experiment YAML the model was trained with (a training config or a run's "
                        "experiment.yaml): the words of its training texts become the model's lexicon "
                        "(lexicon.txt), with which paraphrase() puts candidates that invent a word last")
    p.add_argument("--truecase", action=argparse.BooleanOptionalAction, default=None,
                   help="decoded text gets each word's commonest casing in the training texts and a capital at "
                        "each sentence start ('no , i know mary .' -> 'No , I know Mary .'); needs a lexicon")
    p.add_argument("--license", default=None, help="the model's licence for its model card (README.md), e.g. mit")
    p.add_argument("--dataset", action="append", default=[], dest="datasets", metavar="NAME",
                   help="a dataset the model was trained on, for its model card (repeat for several)")
    p.add_argument("--metric", action="append", default=[], dest="metrics", type=metric, metavar="NAME=VALUE",
                   help="a measured figure for the model card's evaluation table, e.g. 'valid neg_elbo=29.5' "
                        "(repeat for several)")
    p.set_defaults(run=run)


def metric(text: str) -> tuple[str, float]:
    """'NAME=VALUE' -> (NAME, VALUE): a non-empty name and a finite number, else an argparse error."""
    name, _, value = text.rpartition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not name.strip() or number is None or not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with a finite number, got {text!r}")
    return name.strip(), number


def run(args) -> int:
    import dataclasses
    from pathlib import Path

    import torch

    from textvae import TextVAE
    from textvae.errors import TextVAEError
    from textvae.models.control import require_control

    if Path(args.output).resolve() == Path(args.model).resolve():
        raise TextVAEError("--output must differ from --model (the model is read from there)")
    model = TextVAE.from_pretrained(args.model, device="cpu")
    given = {"paraphrase_scale": args.paraphrase_scale, "reply_top_p": args.reply_top_p,
             "rerank_overlap": args.rerank_overlap, "rerank_likelihood": args.rerank_likelihood,
             "rerank_recovery": args.rerank_recovery, "rerank_brevity": args.rerank_brevity,
             "paraphrase_oversample": args.paraphrase_oversample, "paraphrase_beam": args.paraphrase_beam,
             "refine_steps": args.refine_steps,
             "refine_lr": args.refine_lr, "refine_momentum": args.refine_momentum, "refine_anchor": args.refine_anchor,
             "refine_early_stop": args.refine_early_stop,
             "paraphrase_center": args.paraphrase_center,
             "control_similarity": args.control_similarity, "control_novelty": args.control_novelty,
             "clean_up_tokenization_spaces": args.clean_up_tokenization_spaces, "truecase": args.truecase,
             "decoder_table_rank": args.decoder_table_rank}
    defaults = {key: value for key, value in given.items() if value is not None}
    model.config = dataclasses.replace(model.config, **defaults)
    model.config.validate()  # a negative scale or a top_p outside (0, 1] fails here, before anything is written
    if args.control_similarity is not None or args.control_novelty is not None:
        require_control(model.config, "--control-similarity or --control-novelty")
    if args.lexicon_data:
        from textvae.config import load_experiment
        from textvae.nlg.lexicon import Lexicon
        from textvae.training.texts import tokenizer_texts

        model.lexicon = Lexicon.of(tokenizer_texts(load_experiment(args.lexicon_data)))
    if model.config.truecase and model.lexicon is None:
        raise TextVAEError("--truecase needs the model's lexicon: give --lexicon-data CONFIG")
    model.save_pretrained(args.output, dtype=getattr(torch, DTYPES[args.dtype]), license=args.license,
                          datasets=args.datasets, metrics=dict(args.metrics))
    print(f"{args.model} -> {args.output} ({DTYPES[args.dtype]}, paraphrase_scale {model.config.paraphrase_scale})")
    return 0
