"""Draw rows from a fitted model under controls: the public Synthesizer, its fit, sample and save."""

from lookalike.sample._synthesizer import MODEL_REGISTRY, Synthesizer, load

__all__ = ["MODEL_REGISTRY", "Synthesizer", "load"]
