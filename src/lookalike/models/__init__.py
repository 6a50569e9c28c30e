"""Synthesizers: models on the encoded table behind one protocol (fit / sample / save)."""

from lookalike.models._synthesizer import MODEL_REGISTRY, Synthesizer, load

__all__ = ["MODEL_REGISTRY", "Synthesizer", "load"]
