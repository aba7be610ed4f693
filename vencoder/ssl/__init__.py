"""Self-supervised speech transformers (WavLM, HuBERT family): config, model, checkpoint conversion."""
