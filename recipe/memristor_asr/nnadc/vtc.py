"""Kept for unpickling old job.save files (names moved to :mod:`.circuit.vtc`)."""
from .circuit.vtc import VtcFamilyV1Config, VtcParams, nominal_vtc, corner_vtc, sample_vtc, apply_vtc, CORNERS

__all__ = ["VtcFamilyV1Config", "VtcParams", "nominal_vtc", "corner_vtc", "sample_vtc", "apply_vtc", "CORNERS"]
