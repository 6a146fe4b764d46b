"""Reporting (library): WER tables (markdown, CSV) and plots (PNG) of the study's results."""
