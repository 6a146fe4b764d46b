import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "toy_recipe"))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..", "tests")))
