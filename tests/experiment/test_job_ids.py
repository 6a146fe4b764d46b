"""Job ids are a contract: the ids of the default graph, the full seed study and the NNADC graph
equal the checked-in lists (`tests/experiment/job_ids/`). A deliberate change updates them with
`.venv/bin/python tests/experiment/job_id_pins.py --update` in the same commit."""
import importlib.util
import pathlib

import pytest

_spec = importlib.util.spec_from_file_location("job_id_pins", pathlib.Path(__file__).with_name("job_id_pins.py"))
pins = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pins)


@pytest.mark.parametrize("module,func", pins.ENTRIES, ids=[f"{m}.{f}" for m, f in pins.ENTRIES])
def test_job_ids_equal_the_pinned_list(module, func):
    d = pins.diff(module, func)
    assert not d["added"] and not d["removed"], (
        f"config/{module}.py:{func}() changed job ids: {len(d['added'])} new, {len(d['removed'])} gone "
        f"(first new: {d['added'][:3]}, first gone: {d['removed'][:3]}). If deliberate, run "
        f"`.venv/bin/python tests/experiment/job_id_pins.py --update` and say why in the commit.")

