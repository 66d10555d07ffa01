"""The references the grader trusts agree with independent PyTorch computations.

A reference that is wrong would mark every correct learner down, so where PyTorch offers a
second route to the same numbers, every sample (visible, and hidden for several seeds) is
checked against it.
"""
import pytest
import torch

from autograder import assert_matches, exercise_db
from autograder.samples import Draw

SEEDS = (11, 222, 3333, 44444)


def _all_samples(key):
    info = exercise_db[key]
    samples = info.sample_inputs(Draw(0), False)
    for seed in SEEDS:
        samples += info.sample_inputs(Draw(seed), True)
    return info, samples


def test_conv2d_backward_reference_equals_torch_nn_grad():
    """07_gradients grades against autograd; torch.nn.grad computes the same gradients."""
    info, samples = _all_samples("07_gradients.conv2d_backward")
    assert len(samples) >= 50
    for index, sample in enumerate(samples):
        grad_output, x, w = sample.args[:3]
        stride, padding = sample.kwargs.get("stride", 1), sample.kwargs.get("padding", 0)
        by_nn_grad = (
            torch.nn.grad.conv2d_input(x.shape, w, grad_output, stride=stride, padding=padding),
            torch.nn.grad.conv2d_weight(x, w.shape, grad_output, stride=stride, padding=padding),
            grad_output.sum((0, 2, 3)))
        assert_matches(by_nn_grad, info.reference(*sample.args, **sample.kwargs),
                       what=f"torch.nn.grad on sample {index}")
