"""Waveform generators (NSF-HiFiGAN, HiFiGAN with anti-aliased Snake), discriminators, STFT/mel."""
