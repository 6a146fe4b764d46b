"""Learning-curve plot (PNG) from the trainer's per-epoch history."""
from typing import Dict, List

from memristor_asr.util.atomic import atomic_write

__all__ = ["plot_learning_curve"]


def plot_learning_curve(history: List[Dict], path: str, title: str = "CTC training") -> None:
    """Train and dev loss per epoch (left axis) and the learning rate (right axis), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", label="train loss (with SpecAugment, dropout)")
    dev = [(h["epoch"], h["dev_loss"]) for h in history if h.get("dev_loss") is not None]
    if dev:
        ax.plot([e for e, _ in dev], [d for _, d in dev], "s-", label="dev loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("CTC loss per label")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(epochs, [h["lr"] for h in history], ":", color="gray", label="learning rate (end of epoch)")
    ax2.set_ylabel("learning rate")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
