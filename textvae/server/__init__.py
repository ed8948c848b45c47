"""`textvae serve`: a latent-space explorer in the browser over a JSON API."""

from textvae.server.app import create_app
from textvae.server.explorer import Explorer, read_corpus

__all__ = ["Explorer", "create_app", "read_corpus"]
