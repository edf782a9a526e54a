"""``jg.summary.experimental``: the default step of the current thread."""

from .writer import STATE


def set_step(step):
    """Sets the default step for summary calls without ``step=``: an int, an integer tensor
    or a Variable (``None`` unsets it). Inside a jg.function the step is taken when tracing,
    so a Python int stays fixed there; a Variable is read on every run."""
    STATE.step = step


def get_step():
    """The step set by ``set_step`` (or ``writer.as_default(step=...)``), or None."""
    return STATE.step


__all__ = ["set_step", "get_step"]
