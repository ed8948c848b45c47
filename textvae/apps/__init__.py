"""Applications built on a trained model: paraphrase, interpolate, contrast, respond."""
