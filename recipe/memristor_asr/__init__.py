"""Memristor ASR: library code (no Sisyphus imports) in the subpackages, Sisyphus jobs in `jobs/`."""
