"""assert_matches: each kind of difference is reported, in words a learner can act on."""
import pytest
import torch

from autograder import CheckFailure, assert_matches


def expected():
    return torch.arange(6.0).reshape(2, 3)


def test_equal_tensors_pass():
    assert_matches(expected().clone(), expected())


def test_float32_noise_within_tolerance_passes():
    assert_matches(expected() + 1e-6, expected())


@pytest.mark.parametrize("actual, phrase", [
    (expected().numpy(), "should be a torch.Tensor, got ndarray"),
    (expected().double(), "has dtype torch.float64, expected torch.float32"),
    (expected().T, "has shape (3, 2), expected (2, 3)"),
    (expected().reshape(6), "has shape (6,), expected (2, 3)"),
    (torch.full((2, 3), float("nan")), "NaN or infinite"),
    (expected() + torch.tensor([[0, 0, 0], [0, 0.5, 0]]), "differs from the reference in 1 of 6"),
])
def test_each_difference_has_its_message(actual, phrase):
    with pytest.raises(CheckFailure, match=pytest.importorskip("re").escape(phrase)):
        assert_matches(actual, expected())


def test_tensor_subclass_is_rejected():
    class Sneaky(torch.Tensor):
        pass
    with pytest.raises(CheckFailure, match="should be a torch.Tensor, got Sneaky"):
        assert_matches(expected().as_subclass(Sneaky), expected())


def test_mismatch_message_names_index_and_values():
    actual = expected().clone()
    actual[1, 2] = 9.0
    with pytest.raises(CheckFailure, match=r"index \(1, 2\): got 9, expected 5"):
        assert_matches(actual, expected())


def test_ints_must_be_python_ints():
    assert_matches(5, 5)
    with pytest.raises(CheckFailure, match="should be a Python int, got float"):
        assert_matches(5.0, 5)
    with pytest.raises(CheckFailure, match="is 4, expected 5"):
        assert_matches(4, 5)


def test_tuples_compare_elementwise():
    assert_matches((expected(), 3), (expected(), 3))
    with pytest.raises(CheckFailure, match="element 1 of the result"):
        assert_matches((expected(), 2), (expected(), 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_wrong_device_is_named():
    with pytest.raises(CheckFailure, match="is on device cpu, but the inputs were on cuda:0"):
        assert_matches(expected(), expected().cuda())
