"""NSF-HiFiGAN (so-vits-svc ``nsf-hifigan``): harmonic-plus-noise source and generator."""
