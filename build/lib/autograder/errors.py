"""The exceptions a check raises: each says, in plain words, what a learner should change."""
import textwrap

WIDTH = 100


def wrap_message(text, width=WIDTH):
    """``text`` with every line wrapped at ``width`` columns, continuation lines indented."""
    lines = []
    for line in str(text).splitlines() or [""]:
        indent = " " * (len(line) - len(line.lstrip()))
        lines.extend(textwrap.wrap(line, width, subsequent_indent=indent + "  ",
                                   break_long_words=False, break_on_hyphens=False) or [""])
    return "\n".join(lines)


class CheckFailure(AssertionError):
    """A learner's result is wrong; the message says what, on which case, and how to replay it.

    In Jupyter it shows as the message alone, wrapped at 100 columns: IPython calls
    ``_render_traceback_`` instead of printing the check library's frames.
    """

    def _render_traceback_(self):
        name = type(self).__name__
        text = wrap_message(f"{name}: {self}")
        return [f"\x1b[0;31m{name}\x1b[0m" + text[len(name):].splitlines()[0]] + (
            text.splitlines()[1:])


class ForbiddenOpError(CheckFailure):
    """The learner's function called an operator it is meant to implement itself."""


class LeftTorchError(CheckFailure):
    """The learner's function converted a tensor to NumPy (it would not run on a GPU)."""


class TamperingError(CheckFailure):
    """The notebook replaced something that the checks rely on."""


class BudgetExhausted(CheckFailure):
    """The notebook used up its grading time (all cells and calls together): what is left of it
    is not graded (scores 0, flag ``timeout``)."""


class LearnerTimeout(BaseException):
    """Raised inside a learner's function that ran past its time limit.

    A BaseException, so that ``except Exception`` in learner code does not swallow it.
    """
