"""Speech data: corpus manifests, synthesis, importers, lexicon, LM text, features (library)."""
