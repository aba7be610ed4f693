"""Training a voice: preprocess a folder of clips, a dataset report, cached features, a so-vits-svc 4.1 compatible
config, and the GAN trainer with atomic checkpoints and resume. Long jobs are generators of ``Progress``."""
