"""Sisyphus jobs: thin wrappers that read inputs, call a library, write outputs."""
