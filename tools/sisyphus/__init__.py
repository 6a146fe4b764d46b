"""A Sisyphus-compatible workflow runtime (the API subset in shared/spec/sisyphus-runtime.md).

Recipes import ``from sisyphus import Job, Task, tk, gs`` exactly as under upstream Sisyphus;
job ids and hashes are byte-compatible with upstream.
"""
from sisyphus import global_settings as gs
from sisyphus.job import Job
from sisyphus.job_path import Path, Variable
from sisyphus.task import Task
from sisyphus import toolkit as tk

__all__ = ["Job", "Task", "tk", "gs", "Path", "Variable"]
