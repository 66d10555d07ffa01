"""The attack classes graded at once: each is one ``grade --workers 1`` run (every hostile
notebook followed by an honest classmate in the same sandbox), and the runs are independent,
so the session starts them together, in the background, the first time one is needed."""
import pytest


@pytest.fixture(scope="session")
def attack_classes(tmp_path_factory):
    from tests.attacks import test_criteria, test_one_notebook
    runs = {module.__name__.rsplit(".", 1)[1]: module.start(tmp_path_factory.mktemp(
        module.__name__.rsplit(".", 1)[1])) for module in (test_one_notebook, test_criteria)}
    yield runs
    for run in runs.values():
        run.stop()
