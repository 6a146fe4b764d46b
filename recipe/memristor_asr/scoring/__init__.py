"""Scoring (library): STM/CTM files, in-process word alignment, NIST sclite, WER statistics."""
