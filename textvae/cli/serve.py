"""textvae serve [--model DIR] [--ae DIR] [--dialogue DIR] [--corpus FILE] [--host 127.0.0.1] [--port 8000]
[--device cpu|cuda] [--int8]"""

from __future__ import annotations

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(sub) -> None:
    from textvae.cli.common import add_device_arg, add_int8_arg

    p = sub.add_parser("serve", help="a latent-space explorer in the browser (page + JSON API)",
                       description="Serve the page and the JSON API (OpenAPI docs at /docs); "
                                   "models load once.")
    p.add_argument("--model", default=None, help="VAE folder (default: the bundled VAE)")
    p.add_argument("--ae", default=None, help="autoencoder folder (default: the bundled AE)")
    p.add_argument("--dialogue", default=None,
                   help="conditional (dialogue) model folder for replies (default: the bundled dialogue CVAE)")
    p.add_argument("--corpus", default=None,
                   help="sentence-per-line file drawn on the latent map (default: the built-in sentences)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: this machine only; others expose the models)")
    p.add_argument("--port", type=int, default=8000)
    add_device_arg(p)
    add_int8_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import warnings

    import uvicorn

    from textvae.cli.common import resolve_device
    from textvae.errors import TextVAEError
    from textvae.models.registry import DEFAULT_DIALOGUE, default_model_path
    from textvae.server import create_app
    from textvae.server.explorer import load_explorer

    if not 0 < args.port < 65536:
        raise TextVAEError(f"--port must be between 1 and 65535, got {args.port}")
    if args.host not in LOOPBACK:
        warnings.warn(f"listening on {args.host}: anyone who can reach this address can use the models",
                      UserWarning, stacklevel=1)
    explorer = load_explorer(args.model, args.ae, args.dialogue or default_model_path(DEFAULT_DIALOGUE), args.corpus,
                             resolve_device(args.device), int8=args.int8)
    print(f"textvae explorer: http://{args.host}:{args.port}/  (API docs: /docs; Ctrl-C stops)", flush=True)
    uvicorn.run(create_app(explorer), host=args.host, port=args.port, log_level="warning")
    return 0
