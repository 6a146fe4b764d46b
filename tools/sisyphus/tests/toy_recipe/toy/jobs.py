"""Three chained toy jobs for the runtime tests: write numbers, add, multiply."""
import os
import time

from sisyphus import Job, Task, tk


def _count_run(name):
    # each real execution appends to a journal in the setup dir, so tests see what ran
    with open(os.path.join(os.environ["SIS_BASE_DIR"], "runs.log"), "a") as f:
        f.write(name + "\n")


class WriteNumbersJob(Job):
    def __init__(self, n: int, sleep: float = 0.0):
        self.n = n
        self.sleep = sleep
        self.out_numbers = self.output_path("numbers.txt")

    def tasks(self):
        yield Task("run", mini_task=True)

    def run(self):
        _count_run(f"WriteNumbersJob {self.n}")
        time.sleep(self.sleep)
        with open(self.out_numbers.get_path(), "w") as f:
            f.write("\n".join(str(i) for i in range(1, self.n + 1)) + "\n")


class AddJob(Job):
    """Sums numbers in two steps (parallel partial sums, then total); resumable."""

    def __init__(self, numbers: tk.Path, offset: int = 0, sleep: float = 0.0, fail: bool = False):
        self.numbers = numbers
        self.offset = offset
        self.sleep = sleep
        self.fail = fail
        self.out_sum = self.output_var("sum")

    def tasks(self):
        yield Task("partial", args=[0, 1], rqmt={"cpu": 1, "mem": 0.5})
        yield Task("total", resume="total", mini_task=True)

    def partial(self, part):
        _count_run(f"AddJob.partial {part} {self.offset}")
        if self.fail:
            raise RuntimeError("deliberate failure in AddJob.partial")
        nums = [int(x) for x in open(self.numbers.get_path()).read().split()]
        time.sleep(self.sleep)
        with open(f"part{part}.txt", "w") as f:
            f.write(str(sum(nums[part::2])))

    def total(self):
        _count_run(f"AddJob.total {self.offset}")
        self.out_sum.set(sum(int(open(f"part{i}.txt").read()) for i in (0, 1)) + self.offset)


class MultiplyJob(Job):
    __sis_hash_exclude__ = {"factor2": 1}

    def __init__(self, value: tk.Variable, factor: int, factor2: int = 1):
        self.value = value
        self.factor = factor
        self.factor2 = factor2
        self.out_product = self.output_var("product")

    def run(self):
        _count_run(f"MultiplyJob {self.factor}")
        self.out_product.set(self.value.get() * self.factor * self.factor2)
