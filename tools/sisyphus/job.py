"""The ``Job``: a cached unit of work identified by its class and hashed arguments.

Creating a job with equal arguments returns the same object (one instance per id per process);
``__init__`` runs once per id. All state lives in ``<WORK_DIR>/<job id>/`` so any process can die
at any moment and a restarted manager continues.
"""
import copy
import gzip
import inspect
import io
import os
import pickle
import subprocess
from typing import Dict, Iterator, List

from sisyphus import global_settings as gs
from sisyphus.hash import HashError, sis_hash_helper, short_hash
from sisyphus.job_path import Path, Variable
from sisyphus.task import Task
from sisyphus.tools import extract_paths

__all__ = ["Job", "JobReference", "created_jobs", "job_id_for", "load_job"]

#: every job created in this process, by id
created_jobs: Dict[str, "Job"] = {}


def _bind_arguments(cls, args, kwargs) -> dict:
    """``__init__``'s arguments as a dict, defaults included, ``self`` dropped."""
    signature = inspect.signature(cls.__init__)
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__}: {e}") from None
    bound.apply_defaults()
    parsed = dict(bound.arguments)
    del parsed[next(iter(signature.parameters))]
    return parsed


def job_id_for(cls, parsed_args: dict) -> str:
    """``<module path without 'recipe.'>/<ClassName>.<hash>``."""
    try:
        digest = cls.hash(parsed_args)
    except HashError as e:
        for name, value in parsed_args.items():  # name the argument that fails
            try:
                sis_hash_helper(value)
            except HashError as inner:
                raise HashError(f"{cls.__qualname__}: argument {name!r} cannot be hashed: {inner}") from None
        raise HashError(f"{cls.__qualname__}: {e}") from None
    module = cls.__module__
    prefix = gs.RECIPE_PREFIX + "."
    if module.startswith(prefix):
        module = module[len(prefix):]
    return "%s/%s.%s" % (module.replace(".", "/"), cls.__name__, digest)


class JobSingleton(type):
    """Metaclass: one instance per job id."""

    def __call__(cls, *args, **kwargs):
        kwargs.pop("sis_tags", None)
        parsed_args = _bind_arguments(cls, args, kwargs)
        sis_id = job_id_for(cls, parsed_args)
        job = created_jobs.get(sis_id)
        if job is None:
            job = cls.__new__(cls)
            job._sis_id_cache = sis_id
            args, kwargs, parsed_args = copy.deepcopy((args, kwargs, parsed_args))
            job._sis_init(args, kwargs, parsed_args)
            created_jobs[sis_id] = job
        return job


def _restore_job(cls, sis_id):
    """Unpickling keeps jobs singletons too."""
    job = created_jobs.get(sis_id)
    if job is None:
        job = cls.__new__(cls)
        created_jobs[sis_id] = job
    return job


class Job(metaclass=JobSingleton):
    """Base class of all jobs. Subclasses define ``__init__`` (arguments and outputs) and ``tasks``."""

    __sis_version__ = None
    __sis_hash_exclude__: dict = {}
    __sis_hash_overwrite__: list = []

    # ---- construction ------------------------------------------------------------------------
    def _sis_init(self, args, kwargs, parsed_args):
        self._sis_kwargs = parsed_args
        self._sis_aliases = set()
        self._sis_vis_name = None
        self._sis_outputs: Dict[str, Path] = {}
        self._sis_output_dirs = set()
        self._sis_task_rqmt_overwrite = {}
        self._sis_hold_job = False
        self._sis_is_finished = False
        self._sis_task_cache = None
        self._sis_inputs = set()
        self.__init__(*args, **kwargs)
        self._sis_collect_inputs()

    def _sis_collect_inputs(self) -> bool:
        """Find input paths in the job's attributes; returns True if new inputs appeared."""
        before = set(self._sis_inputs)
        found = extract_paths([v for k, v in self.__dict__.items() if not k.startswith("_sis")])
        self._sis_inputs.update(p for p in found if p.creator is not self)
        for p in self._sis_inputs:
            p.add_user(self)
        return self._sis_inputs != before

    @classmethod
    def hash(cls, parsed_args: dict) -> str:
        """Hash of the arguments; drop excluded defaults, apply overwrites, add the version."""
        d = {k: v for k, v in parsed_args.items()
             if not (k in cls.__sis_hash_exclude__ and cls.__sis_hash_exclude__[k] == v)}
        for key, old, new in cls.__sis_hash_overwrite__:
            if key in d and d[key] == old:
                d[key] = new
        return short_hash(d if cls.__sis_version__ is None else (d, cls.__sis_version__))

    def _sis_hash(self) -> bytes:
        return self._sis_id().encode()

    def __reduce__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_sis_task_cache",)}
        return _restore_job, (type(self), self._sis_id()), state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._sis_task_cache = None

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"Job<{self._sis_id()}>"

    def __lt__(self, other):
        return self._sis_id() < other._sis_id()

    # ---- identity and location ----------------------------------------------------------------
    def _sis_id(self) -> str:
        return self._sis_id_cache

    def job_id(self) -> str:
        return self._sis_id()

    def _sis_path(self, name: str | None = None, task_id: int | None = None, abspath: bool = False) -> str:
        path = os.path.join(gs.WORK_DIR, self._sis_id())
        if name is not None:
            path = name if os.path.isabs(name) else os.path.join(path, name)
        if task_id is not None:
            path += ".%d" % task_id
        if abspath and not os.path.isabs(path):
            path = os.path.join(gs.BASE_DIR, path)
        return path

    def work_path(self) -> str:
        return self._sis_path(gs.JOB_WORK_DIR, abspath=True)

    # ---- outputs ------------------------------------------------------------------------------
    def output_path(self, filename: str, directory: bool = False, cached: bool = False) -> Path:
        path = Path(filename, self, cached)
        key = path.path
        if key in self._sis_outputs:
            return self._sis_outputs[key]
        self._sis_outputs[key] = path
        if directory:
            self._sis_output_dirs.add(filename)
        return path

    def output_var(self, filename: str, pickle: bool = False, backup=None) -> Variable:
        if filename in self._sis_outputs:
            raise ValueError(f"{self._sis_id()}: output {filename!r} defined twice")
        var = Variable(filename, self, pickle=pickle, backup=backup)
        self._sis_outputs[filename] = var
        return var

    def add_input(self, path: Path) -> Path:
        self._sis_inputs.add(path)
        path.add_user(self)
        return path

    # ---- presentation ---------------------------------------------------------------------------
    def add_alias(self, alias: str) -> "Job":
        self._sis_aliases.add(alias)
        return self

    def get_aliases(self):
        return self._sis_aliases

    def set_vis_name(self, name: str) -> "Job":
        self._sis_vis_name = name
        return self

    def get_vis_name(self):
        return self._sis_vis_name

    def info(self):
        """Text shown in the console while the job runs (override)."""
        return None

    # ---- requirements and control ---------------------------------------------------------------
    def set_rqmt(self, task_name: str, rqmt: dict) -> "Job":
        self._sis_task_rqmt_overwrite[task_name] = (dict(rqmt), True)
        return self

    def update_rqmt(self, task_name: str, rqmt: dict) -> "Job":
        self._sis_task_rqmt_overwrite[task_name] = (dict(rqmt), False)
        return self

    def hold(self) -> "Job":
        self._sis_hold_job = True
        return self

    def _sis_is_set_to_hold(self) -> bool:
        return self._sis_hold_job or os.path.exists(self._sis_path(gs.STATE_HOLD, abspath=True))

    def tasks(self) -> Iterator[Task]:
        yield Task("run")

    def update(self):
        """Called once the current inputs are available; may add inputs (override)."""

    def _sis_update_possible(self) -> bool:
        return type(self).update is not Job.update

    def path_available(self, path: Path) -> bool:
        """Whether an output may be used by other jobs yet (override to release early)."""
        return self._sis_finished()

    def sh(self, command: str, *args, **kwargs) -> int:
        """Run a shell command; ``{name}`` is replaced by the job attribute ``name``."""
        values = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        values.update(kwargs)
        cmd = command.format(*args, **values)
        return subprocess.check_call(cmd, shell=True, executable="/bin/bash")

    # ---- state on disk ----------------------------------------------------------------------------
    def _sis_tasks(self) -> List[Task]:
        if self._sis_task_cache is None:
            tasks = [t.set_job(self) for t in self.tasks()]
            if not tasks:
                raise ValueError(f"{self._sis_id()}: job defines no tasks")
            self._sis_task_cache = tasks
        return self._sis_task_cache

    def _sis_finished(self) -> bool:
        if not self._sis_is_finished:
            marker = self._sis_path(gs.JOB_FINISHED_MARKER, abspath=True)
            self._sis_is_finished = os.path.isfile(marker) or self._sis_all_tasks_finished(marker)
        return self._sis_is_finished

    def _sis_all_tasks_finished(self, marker: str) -> bool:
        """Every task id finished, but no job marker: the last worker wrote its task's marker and
        then died (or has not yet written the job's). The job is finished; write the marker it
        missed. (Without this, such a job counted as finished in the states but its outputs
        never became available, and the manager stopped with the graph unfinished.)"""
        tasks = self._sis_task_cache  # only once the tasks are known: no job code runs here (before update())
        if tasks is None or not os.path.isdir(os.path.dirname(marker)):
            return False
        if not all(self._sis_task_finished(t, i) for t in tasks for i in t.task_ids()):
            return False
        try:
            with open(marker, "a"):
                pass
        except OSError:  # e.g. a read-only job dir: the task markers are enough
            pass
        return True

    def _sis_task_finished(self, task: Task, task_id: int) -> bool:
        return os.path.isfile(self._sis_path(f"finished.{task.name()}.{task_id}", abspath=True))

    def _sis_setup_directory(self) -> None:
        """Create the job directory: sub dirs, input links, the pickled job, the info file."""
        base = self._sis_path(abspath=True)
        for sub in (gs.JOB_WORK_DIR, gs.JOB_OUTPUT, gs.JOB_INPUT, gs.JOB_ENGINE_DIR):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        for sub in self._sis_output_dirs:
            os.makedirs(os.path.join(base, gs.JOB_OUTPUT, sub), exist_ok=True)
        for p in self._sis_inputs:
            if p.creator is not None:
                link = os.path.join(base, gs.JOB_INPUT, p.creator._sis_id().replace("/", "_"))
                if not os.path.islink(link):
                    os.symlink(p.creator._sis_path(abspath=True), link, target_is_directory=True)
        from sisyphus.tools import atomic_write_bytes

        atomic_write_bytes(os.path.join(base, gs.JOB_SAVE), gzip.compress(_dumps_job(self)))
        lines = [f"INPUT: {p}" for p in sorted(self._sis_inputs)]
        lines += [f"PARAMETER: {k}: {v!r}" for k, v in self._sis_kwargs.items()]
        lines += [f"ALIAS: {a}" for a in sorted(self._sis_aliases)]
        atomic_write_bytes(os.path.join(base, gs.JOB_INFO), ("\n".join(lines) + "\n").encode())


class JobReference:
    """What another job becomes inside a pickled ``job.save``: its id and location, nothing else.

    A worker needs of its inputs only where they live and whether they are done. Pickling the
    creators themselves would pull in the whole upstream graph, and with it every library their
    arguments come from (a scoring job would import torch through the training configs), which
    costs about 2 s per task. Anything beyond the location raises a clear error.
    """

    def __init__(self, sis_id: str, cls_name: str):
        self._sis_id_cache = sis_id
        self._cls_name = cls_name

    def _sis_id(self) -> str:
        return self._sis_id_cache

    def job_id(self) -> str:
        return self._sis_id_cache

    _sis_path = Job._sis_path

    def _sis_hash(self) -> bytes:
        return self._sis_id_cache.encode()

    def _sis_finished(self) -> bool:
        return os.path.isfile(self._sis_path(gs.JOB_FINISHED_MARKER, abspath=True))

    def path_available(self, path: Path) -> bool:
        return self._sis_finished()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"{self._cls_name} {self._sis_id_cache}: only a reference to this job is loaded in a "
                             f"worker (id and location); its attribute {name!r} is not available there")

    def __eq__(self, other):
        return hasattr(other, "_sis_id") and other._sis_id() == self._sis_id_cache

    def __hash__(self):
        return hash(self._sis_id_cache)

    def __lt__(self, other):
        return self._sis_id_cache < other._sis_id()

    def __repr__(self):
        return f"JobReference<{self._sis_id_cache}>"


class _JobPickler(pickle.Pickler):
    """Pickles ``root`` in full and every other job as a :class:`JobReference`."""

    def __init__(self, file, root: Job):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._root = root

    def reducer_override(self, obj):
        if isinstance(obj, (Job, JobReference)) and obj is not self._root:
            return JobReference, (obj._sis_id(), type(obj).__name__ if isinstance(obj, Job) else obj._cls_name)
        return NotImplemented


def _dumps_job(job: Job) -> bytes:
    buf = io.BytesIO()
    _JobPickler(buf, job).dump(job)
    return buf.getvalue()


def load_job(job_dir: str) -> Job:
    """Load the pickled job of a job directory (what a worker runs)."""
    with gzip.open(os.path.join(job_dir, gs.JOB_SAVE), "rb") as f:
        return pickle.load(f)
