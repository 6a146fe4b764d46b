"""Small shared helpers (no Sisyphus imports)."""
