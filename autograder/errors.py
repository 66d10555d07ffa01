"""The exceptions a check raises: each says, in plain words, what a learner should change."""


class CheckFailure(AssertionError):
    """A learner's result is wrong; the message says what, on which case, and how to replay it."""


class ForbiddenOpError(CheckFailure):
    """The learner's function called an operator it is meant to implement itself."""


class LeftTorchError(CheckFailure):
    """The learner's function converted a tensor to NumPy (it would not run on a GPU)."""


class TamperingError(CheckFailure):
    """The notebook replaced something that the checks rely on."""


class LearnerTimeout(BaseException):
    """Raised inside a learner's function that ran past its time limit.

    A BaseException, so that ``except Exception`` in learner code does not swallow it.
    """
