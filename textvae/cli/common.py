"""Shared CLI pieces: --model / --device / --json / --jsonl options, the process's speed settings, decoding
options, output printing and streaming."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable

JSON_LIMIT = 100_000  # --json builds one document in memory; more results than this stream with --jsonl
PROGRESS_MIN = 1_000  # a progress bar (on a terminal) for outputs at least this long


def add_model_arg(parser) -> None:
    parser.add_argument("--model", default=None, help="saved model folder (default: the bundled model)")


def add_device_arg(parser) -> None:
    parser.add_argument("--device", default=None,
                        help="where the model runs: cpu, cuda, cuda:N or mps (default: cuda when available, else cpu)")


def add_int8_arg(parser) -> None:
    parser.add_argument("--int8", action="store_true",
                        help="decode with int8 copies of the decoder's weights (CPU, GRU decoders): faster steps, "
                             "outputs may differ slightly from float decoding")


def add_refine_arg(parser) -> None:
    parser.add_argument("--refine-steps", type=int, default=None,
                        help="a VAE's latent refinement: Adam steps on each input's z from the encoder's mean towards "
                             "a z the decoder reads back as the input (default: the model's refine_steps; 0: off)")


def add_native_kernels_arg(parser) -> None:
    parser.add_argument("--native-kernels", action=argparse.BooleanOptionalAction, default=None,
                        help="run the GRU's time loops and the output loss's softmax as C++ kernels compiled on first "
                             "use (the default where a compiler is found, unless TEXTVAE_NATIVE=0), or as their Python "
                             "reference (same maths, slower)")


def add_keep_freed_memory_arg(parser) -> None:
    parser.add_argument("--keep-freed-memory", action=argparse.BooleanOptionalAction, default=None,
                        help="let this process reuse the large blocks it frees instead of page-faulting fresh ones "
                             "(glibc malloc; steps 3-5%% faster; the default unless TEXTVAE_KEEP_FREED_MEMORY=0)")


def apply_keep_freed_memory(args) -> None:
    """Set malloc for this process as --keep-freed-memory says (its default: TEXTVAE_KEEP_FREED_MEMORY, else on)."""
    from textvae.fastcpu.process import keep_freed_memory

    keep = args.keep_freed_memory
    if keep if keep is not None else os.environ.get("TEXTVAE_KEEP_FREED_MEMORY", "1") != "0":
        keep_freed_memory()


def _cuda_problem(index: int | None) -> str | None:
    import torch

    if not torch.cuda.is_available():
        return "CUDA is not available here (no NVIDIA GPU, or a CPU-only build of torch)"
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        return f"this machine has {count} CUDA device(s): cuda:0 to cuda:{count - 1}"
    return None


def _mps_problem(index: int | None) -> str | None:
    import torch

    return None if torch.backends.mps.is_available() else "MPS (an Apple GPU) is not available here"


DEVICE_PROBLEMS = {"cpu": lambda index: None, "cuda": _cuda_problem, "mps": _mps_problem}


def resolve_device(name: str | None):
    """The torch.device a command runs on: `name` checked against this machine, else cuda when available, else cpu."""
    import torch

    from textvae.errors import TextVAEError

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in DEVICE_PROBLEMS:
        raise TextVAEError(f"--device {name}: choose cpu, cuda, cuda:N or mps")
    problem = DEVICE_PROBLEMS[device.type](device.index)
    if problem:
        raise TextVAEError(f"--device {name}: {problem}")
    return device


def add_json_arg(parser, stream: bool = False) -> None:
    """--json; with `stream`, also --jsonl (one JSON object per result, written as it is produced)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print machine-readable JSON")
    if stream:
        group.add_argument("--jsonl", action="store_true",
                           help="print one JSON object per line as results are produced (any number of them)")


def add_decoding_args(parser, default_strategy: str | None = "greedy") -> None:
    parser.add_argument("--strategy", choices=["greedy", "sample", "beam"], default=default_strategy,
                        help=f"decoding strategy (default: {default_strategy or 'model default'})")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling (default: 1, off; respond: the "
                        "model's reply default)")
    parser.add_argument("--beam-size", type=int, default=None,
                        help="beam width with --strategy beam (default: 5; paraphrase: the model's paraphrase_beam)")
    parser.add_argument("--no-repeat-ngram-size", type=int, default=0,
                        help="> 0: no output repeats an n-gram of this many tokens (default: 0, off)")
    parser.add_argument("--max-length", type=int, default=None, help="default: the model's max_length")
    parser.add_argument("--batch-size", type=int, default=256, help="sentences decoded at once")
    parser.add_argument("--memory-mb", type=int, default=1024,
                        help="decoding working-memory budget; requests that cannot fit are refused")
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible samples")
    add_int8_arg(parser)
    add_refine_arg(parser)


def decoding_options(args) -> dict:
    options = {"temperature": args.temperature, "top_k": args.top_k, "no_repeat_ngram_size": args.no_repeat_ngram_size,
               "batch_size": args.batch_size, "memory_mb": args.memory_mb}
    for key in ("top_p", "max_length", "beam_size"):  # unset: the decoding default (a model's own for replies, paraphrases)
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    return options


def seed(args) -> None:
    if getattr(args, "seed", None) is not None:
        import torch

        torch.manual_seed(args.seed)


def load_model(args, folder=None):
    """The model of --model (or `folder`) on --device, decoding with int8 weights with --int8, refining its
    latents with --refine-steps."""
    from textvae import TextVAE

    device = resolve_device(getattr(args, "device", None))
    model = TextVAE.from_pretrained(folder or args.model, device=device).refining(getattr(args, "refine_steps", None))
    return model.int8_decoding() if getattr(args, "int8", False) else model


def emit(args, payload, lines: list[str]) -> None:
    """JSON when --json was given, else the human-readable lines."""
    if args.json:
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n".join(lines))


def check_json_size(args, count: int) -> None:
    """--json holds the whole result in memory: refuse more than JSON_LIMIT results (before any work)."""
    if getattr(args, "json", False) and count > JSON_LIMIT:
        from textvae.errors import TextVAEError

        raise TextVAEError(f"--json builds one document in memory, at most {JSON_LIMIT:,} results; "
                           f"use --jsonl to stream {count:,}")


def stream(args, records: Iterable[dict], total: int, line: Callable[[dict], str],
           document: Callable[[list[dict]], dict]) -> None:
    """Write results as they are produced: `line(record)` each, or JSON Lines with --jsonl; with --json, one
    `document(records)` at the end. A progress bar goes to a terminal's stderr for long outputs."""
    from tqdm.auto import tqdm

    records = tqdm(records, total=total, unit="text", file=sys.stderr, leave=False,
                   disable=total < PROGRESS_MIN or not sys.stderr.isatty())
    if args.json:
        emit(args, document(list(records)), [])
        return
    for record in records:
        sys.stdout.write((json.dumps(record, ensure_ascii=False) if args.jsonl else line(record)) + "\n")
    sys.stdout.flush()
