"""The so-vits-svc 4.x synthesizer (parameter names identical to so-vits-svc for strict loading)."""
