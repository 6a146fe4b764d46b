"""Decoding helpers: CTC log-prob files, flashlight lexicon search, CTM/STM (library)."""
