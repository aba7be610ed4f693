"""Content encoders: 16 kHz speech -> frame features that carry what is sung, not who sings."""
