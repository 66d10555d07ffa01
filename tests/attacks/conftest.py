"""The attack classes: each is one ``grade --workers 1`` run (every hostile notebook followed by
an honest classmate in the same sandbox). A class starts, in the background, the first time one
of its tests needs it, so that ``make test`` (pytest-xdist, a test file per worker) grades the
two classes side by side on two workers, and a run of one file grades only its own class."""
import pytest


class _Classes(dict):
    def __init__(self, factory):
        super().__init__()
        self.factory = factory

    def __missing__(self, name):
        from tests.attacks import test_criteria, test_one_notebook
        module = {"test_criteria": test_criteria, "test_one_notebook": test_one_notebook}[name]
        self[name] = module.start(self.factory.mktemp(name))
        return self[name]


@pytest.fixture(scope="session")
def attack_classes(tmp_path_factory):
    runs = _Classes(tmp_path_factory)
    yield runs
    for run in runs.values():
        run.stop()
