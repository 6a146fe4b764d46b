"""Put recipe/ on the import path (the library is imported as ``memristor_asr``)."""
import pathlib
import sys

_RECIPE = str(pathlib.Path(__file__).resolve().parents[2] / "recipe")
if _RECIPE not in sys.path:
    sys.path.insert(0, _RECIPE)
