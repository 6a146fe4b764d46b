"""Job ids must equal upstream Sisyphus' ids for the same arguments.

The reference ids were computed once with upstream Sisyphus' own ``hash.py`` (rwth-i6/sisyphus)
plus the spec's Job/Path rules, for the cases built by ``toy/hash_cases.py``.
"""
import os

import pytest

from sisyphus.hash import HashError, short_hash, sis_hash_helper

REFERENCE_IDS = {
    "basic": "toy/hash_cases/ArgsJob.JzhQQerD3z10",
    "custom_hash": "toy/hash_cases/CustomHashJob.uwNSGqKi6B8V",
    "dataclass": "toy/hash_cases/ArgsJob.BRRVRcUhE121",
    "enum": "toy/hash_cases/ArgsJob.MRGC7hjIVy9o",
    "exclude_default": "toy/hash_cases/ExcludeJob.9TlCYd36HVfR",
    "exclude_nondefault": "toy/hash_cases/ExcludeJob.iKjpau1y0ijz",
    "frozen_dataclass": "toy/hash_cases/ArgsJob.LHmiBkPFRdFV",
    "function_and_class": "toy/hash_cases/ArgsJob.OFeedtUTCusG",
    "ints": "toy/hash_cases/ArgsJob.16pPpGebgZ5T",
    "long": "toy/hash_cases/ArgsJob.pTky7h39gIwu",
    "nested": "toy/hash_cases/ArgsJob.t47jvtUrIXpk",
    "none": "toy/hash_cases/ArgsJob.GEO81Cw8IwEA",
    "overwrite": "toy/hash_cases/OverwriteJob.hhwZ8fwRhmZM",
    "path_from_job": "toy/hash_cases/ArgsJob.VZ1aXmlGcLzv",
    "path_hash_overwrite": "toy/hash_cases/ArgsJob.TkZKRn69oFiU",
    "produce": "toy/hash_cases/ProduceJob.KAHFtGeJf5Sl",
    "raw_path": "toy/hash_cases/ArgsJob.9WpqHg2daMn9",
    "sets": "toy/hash_cases/ArgsJob.XGuyLncBcHFt",
    "version": "toy/hash_cases/VersionedJob.yeXa60El3980",
}


def test_job_ids_equal_upstream_reference():
    from toy.hash_cases import build_cases

    got = {label: job.job_id() for label, job in build_cases()}
    assert got == REFERENCE_IDS


def test_excluded_default_keeps_old_id_and_other_values_change_it():
    from toy.hash_cases import ExcludeJob

    assert ExcludeJob(3, new_param=False).job_id() == ExcludeJob(3).job_id()
    assert ExcludeJob(3, new_param=True).job_id() != ExcludeJob(3).job_id()


def test_short_hash_is_base62_least_significant_first():
    import hashlib

    value = int.from_bytes(hashlib.sha256(sis_hash_helper("abc")).digest(), "big")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    assert short_hash("abc")[0] == alphabet[value % 62]
    assert short_hash("abc")[1] == alphabet[(value // 62) % 62]
    assert sis_hash_helper(None) == b"(NoneType)"
    assert sis_hash_helper([1, "a"]) == b"(list, (int, 1), (str, 'a'))"


def test_one_instance_per_id_and_init_runs_once():
    from toy.hash_cases import ArgsJob

    a = ArgsJob(42, b=[1, 2])
    b = ArgsJob(a=42, b=[1, 2])
    assert a is b
    assert ArgsJob(43) is not a


def test_lambda_argument_is_refused_with_the_argument_named():
    from toy.hash_cases import ArgsJob

    with pytest.raises(HashError, match=r"argument 'b'.*lambda"):
        ArgsJob(1, b=lambda x: x)


def test_object_from_main_is_refused():
    from toy.hash_cases import ArgsJob

    Local = type("Local", (), {"__module__": "__main__"})
    with pytest.raises(HashError, match=r"__main__"):
        ArgsJob(Local())


def test_paths_hash_by_creator_and_name_not_location(tmp_path, monkeypatch):
    from sisyphus import global_settings as gs
    from toy.hash_cases import ArgsJob, ProduceJob

    p = ProduceJob("x")
    before = ArgsJob(p.out_file).job_id()
    assert p.out_file.get_path().endswith(os.path.join("work", p.job_id(), "output", "file.txt"))
    monkeypatch.setattr(gs, "BASE_DIR", str(tmp_path))
    assert p.out_file.get_path().startswith(str(tmp_path))
    from sisyphus.job import created_jobs

    created_jobs.clear()
    assert ArgsJob(ProduceJob("x").out_file).job_id() == before
