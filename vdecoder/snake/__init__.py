"""HiFiGAN with anti-aliased Snake activations (so-vits-svc ``nsf-snake-hifigan``)."""
