"""Jobs and argument values whose ids are compared with ids computed by upstream Sisyphus."""
import enum
from dataclasses import dataclass, field
from typing import List

from sisyphus import Job, tk


class Mode(enum.Enum):
    FAST = 1
    EXACT = 2


@dataclass
class ConverterConfig:
    adc_precision_bits: int = 4
    adc_range_bits: int = 4
    per_layer: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TileShape:
    rows: int = 128
    cols: int = 128


def named_function(x):
    return x


class ProduceJob(Job):
    def __init__(self, name: str):
        self.name = name
        self.out_file = self.output_path("file.txt")
        self.out_dir = self.output_path("dir", directory=True)
        self.out_var = self.output_var("value")


class ArgsJob(Job):
    def __init__(self, a, b=None, c: List = (), d: dict = None):
        self.a, self.b, self.c, self.d = a, b, c, d


class ExcludeJob(Job):
    __sis_hash_exclude__ = {"new_param": False, "other": None}

    def __init__(self, x: int, new_param: bool = False, other=None):
        self.x, self.new_param, self.other = x, new_param, other


class VersionedJob(Job):
    __sis_version__ = 2

    def __init__(self, x: int):
        self.x = x


class OverwriteJob(Job):
    __sis_hash_overwrite__ = [("codec", "flac", "wav")]

    def __init__(self, codec: str):
        self.codec = codec


class CustomHashJob(Job):
    def __init__(self, x: int, num_threads: int = 1):
        self.x, self.num_threads = x, num_threads

    @classmethod
    def hash(cls, parsed_args):
        d = dict(parsed_args)
        del d["num_threads"]  # resources do not change the result
        return super().hash(d)


def build_cases():
    """(label, job) pairs; the same construction is replayed with upstream's hash code."""
    p = ProduceJob("corpus")
    return [
        ("ints", ArgsJob(1)),
        ("basic", ArgsJob(1, b=2.5, c=[True, "x", None, 3 + 4j], d={"k": (1, 2), "j": b"raw"})),
        ("nested", ArgsJob([[1, [2, {"a": [3, 4]}]], {"z": {"y": None}}])),
        ("sets", ArgsJob({3, 1, 2}, b=frozenset({"b", "a"}))),
        ("none", ArgsJob(None)),
        ("path_from_job", ArgsJob(p.out_file, b=p.out_var, c=[p.out_dir])),
        ("raw_path", ArgsJob(tk.Path("/data/corpus.xml.gz"))),
        ("path_hash_overwrite", ArgsJob(tk.Path("/new/place/lex.xml", hash_overwrite="/old/lex.xml"))),
        ("dataclass", ArgsJob(ConverterConfig(2, 6, {"*.linear_pos": {"adc_range_bits": 8}}))),
        ("frozen_dataclass", ArgsJob(TileShape(64, 32))),
        ("enum", ArgsJob(Mode.EXACT)),
        ("function_and_class", ArgsJob(named_function, b=ConverterConfig)),
        ("exclude_default", ExcludeJob(3)),
        ("exclude_nondefault", ExcludeJob(3, new_param=True)),
        ("version", VersionedJob(5)),
        ("overwrite", OverwriteJob("flac")),
        ("custom_hash", CustomHashJob(7, num_threads=8)),
        ("long", ArgsJob(list(range(2000)))),
        ("produce", p),
    ]
