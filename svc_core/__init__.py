"""SVC Studio engine: audio I/O, pitch, synthesizer, voices, conversion, CLI (no Qt)."""

__version__ = "0.1.0"
