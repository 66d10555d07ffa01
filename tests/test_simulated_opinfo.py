"""The simulated device gives the CPU's results, bit for bit, on PyTorch's own OpInfo samples.

`torch.testing._internal.common_methods_invocations.op_db` holds the sample inputs that PyTorch's
own test suite runs every operator on (importing it needs the `expecttest` package). Each sample
runs on the CPU, then again with every tensor of the sample on the checks' simulated device
(`autograder.simulated`: ``to_simulated``, inside ``simulated_device()``). The simulated run must

* give the CPU's result exactly: same type, dtype and shape, the same strides (of dimensions
  longer than one), values bit for bit (NaNs equal), conjugate and negative bits resolved, the
  tensors on the simulated device (unless the sample asks for the CPU), and its inputs left as
  the CPU run left them; or
* raise `SimulatedDeviceUnsupported`, the grader's plain "not supported" (counted, not failed);
* raise, in any way, when the CPU raised.

A `DeviceMismatchError` fails: every tensor of a sample is on the simulated device (0-dim ones
too), so nothing mixes devices. Random operations compare exactly too: the CPU's random
generator is seeded alike before both runs. The exceptions, each with its reason:

* `UNINITIALISED`: the results hold uninitialised memory; dtype, shape and strides compare;
* `ON_THE_CPU`: arguments that CUDA, too, wants on the CPU stay there;
* `CPU_NONDETERMINISTIC`, and any sample the CPU does not reproduce itself (a second CPU run on a
  copy of the sample differs): the simulated result must be close to the CPU's
  (``torch.testing.assert_close``'s default tolerances); such samples are counted apart.

`test_opinfo_sample_agrees_with_the_cpu` (in ``make test-fast``, about 5 s) runs the first sample
of every operator in each of float32, float64, complex64, int64 and bool that it supports on the
CPU; `test_opinfo_sweep_agrees_with_the_cpu` (slow, about 2 minutes for 58,000 samples) runs
every sample, with the conjugated copies of the samples in complex64. Both print their totals
("OpInfo agreement count") and, when they fail, the operators, samples and what differs.

The small tests at the end are the cases of the bug report (issue 14): Python lists as indices,
an FFT cross-correlation with ``.conj()``, negative views.
"""
import itertools
import random
import time
import warnings
from collections import Counter

import numpy
import pytest
import torch

from autograder.simulated import (DeviceMismatchError, SimulatedDeviceUnsupported,
                                  SimulatedTensor, from_simulated, leaves, map_tensors,
                                  simulated_device, to_simulated)

DTYPES = (torch.float32, torch.float64, torch.complex64, torch.int64, torch.bool)
SEED = 20240614

# Their results are uninitialised memory (PyTorch flags the empty ones has_nondeterministic_output;
# resize_ leaves the new elements uninitialised): the values differ from run to run.
UNINITIALISED = {"empty", "empty_like", "empty_permuted", "empty_strided", "new_empty",
                 "new_empty_strided", "resize_", "resize_as_"}
# name -> which arguments stay on the CPU: tensor_split takes tensor_indices_or_sections on the
# CPU only, on a GPU as well ("expected tensor_indices_or_sections to be on cpu").
ON_THE_CPU = {"tensor_split": {"args": (0,)}}

# MKL's least squares (gelsy, the CPU's default driver) gives other last bits from one run to the
# next on this CPU, even on one thread: a second CPU run does not always show it.
CPU_NONDETERMINISTIC = {"linalg.lstsq"}

AGREED, BOTH_RAISED, UNSUPPORTED, SHAPE_ONLY, CLOSE, FAILED = (
    "agreed", "both raised", "unsupported", "uninitialised: shape only",
    "close (the CPU does not reproduce itself)", "failed")


# --- running one sample ---------------------------------------------------------------------------
def _copy(tensor):
    """An independent copy of ``tensor``: same strides, offset and conjugate/negative bits."""
    if tensor.layout != torch.strided:
        return tensor.clone()
    storage = tensor.untyped_storage()
    copy = torch.empty(0, dtype=tensor.dtype).set_(
        storage.clone() if storage.nbytes() else storage, tensor.storage_offset(),
        tensor.size(), tensor.stride())
    if tensor.is_conj():
        torch._C._set_conj(copy, True)
    if tensor.is_neg():
        torch._C._set_neg(copy, True)
    return copy.requires_grad_(tensor.requires_grad)


def _parts(sample):
    return [sample.input, list(sample.args), dict(sample.kwargs)]


def _on_device(op_name, parts):
    """``parts`` (input, args, kwargs) with their tensors on the simulated device."""
    keep = ON_THE_CPU.get(op_name, {})
    input_, args, kwargs = map_tensors(to_simulated, parts)
    for i in keep.get("args", ()):
        args[i] = from_simulated(args[i])
    return [input_, args, kwargs]


def _asks_for_the_cpu(parts):
    """Whether the results may rightly be on the CPU: the sample holds no tensor (a factory
    such as ``torch.zeros(3)``) or names the CPU (``x.to("cpu")``, ``device="cpu"``)."""
    found = list(leaves(parts))
    return not any(isinstance(v, torch.Tensor) for v in found) or any(
        (isinstance(v, torch.device) and v.type == "cpu") or v == "cpu" for v in found
        if isinstance(v, (str, torch.device)))


def _call(op, parts, simulated):
    torch.default_generator.manual_seed(SEED)      # (torch.manual_seed also queues CUDA work)
    input_, args, kwargs = parts
    if simulated:
        with simulated_device():
            return op(input_, *args, **kwargs)
    return op(input_, *args, **kwargs)


def _short(error):
    return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"


def _difference(expected, actual, path="result", values=True, on_device=True):
    """None when ``actual`` (from the simulated device) is ``expected`` (from the CPU), else
    what differs, in a line."""
    if isinstance(expected, torch.Tensor) or isinstance(actual, torch.Tensor):
        if not (isinstance(expected, torch.Tensor) and isinstance(actual, torch.Tensor)):
            return f"{path}: {type(expected).__name__} on the CPU, {type(actual).__name__} here"
        if type(actual) is SimulatedTensor:
            data = from_simulated(actual)
            if (actual.layout == torch.strided and data.layout == torch.strided and (
                    actual.shape != data.shape or actual.stride() != data.stride()
                    or actual.storage_offset() != data.storage_offset()
                    or actual.is_conj() != data.is_conj() or actual.is_neg() != data.is_neg())
                    or actual.dtype != data.dtype):
                return (f"{path}: the simulated tensor says {tuple(actual.shape)}, strides "
                        f"{actual.stride()}, its data {tuple(data.shape)}, {data.stride()}")
            actual = data
        elif on_device and expected.dim() > 0 and expected.numel() > 1:
            return f"{path}: a {tuple(actual.shape)} tensor on {actual.device}, not on the device"
        if actual.device.type != "cpu":
            return f"{path}: its data is on {actual.device}"
        if expected.dtype != actual.dtype:
            return f"{path}: dtype {expected.dtype} on the CPU, {actual.dtype} here"
        if expected.shape != actual.shape:
            return f"{path}: shape {tuple(expected.shape)} on the CPU, {tuple(actual.shape)} here"
        if expected.layout != actual.layout:
            return f"{path}: layout {expected.layout} on the CPU, {actual.layout} here"
        if expected.layout != torch.strided:
            expected, actual = expected.to_dense(), actual.to_dense()
        elif [s for s, n in zip(expected.stride(), expected.shape) if n > 1] != \
                [s for s, n in zip(actual.stride(), actual.shape) if n > 1]:
            return f"{path}: strides {expected.stride()} on the CPU, {actual.stride()} here"
        if not values:
            return None
        return _value_difference(expected, actual, path)
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        if len(expected) != len(actual):
            return f"{path}: {len(expected)} items on the CPU, {len(actual)} here"
        for i, (e, a) in enumerate(zip(expected, actual)):
            found = _difference(e, a, f"{path}[{i}]", values, on_device)
            if found:
                return found
        return None
    if isinstance(expected, dict) and isinstance(actual, dict):
        if expected.keys() != actual.keys():
            return f"{path}: keys {sorted(expected)} on the CPU, {sorted(actual)} here"
        for key in expected:
            found = _difference(expected[key], actual[key], f"{path}[{key!r}]", values,
                                on_device)
            if found:
                return found
        return None
    if type(expected) is not type(actual):
        return f"{path}: {type(expected).__name__} on the CPU, {type(actual).__name__} here"
    if isinstance(expected, float) and expected != expected and actual != actual:
        return None
    if isinstance(expected, complex) and (expected != expected) and (actual != actual):
        return None
    return None if expected == actual or not values else f"{path}: {expected!r} vs {actual!r}"


def _value_difference(expected, actual, path):
    expected = expected.resolve_conj().resolve_neg()
    actual = actual.resolve_conj().resolve_neg()
    if expected.is_complex():
        expected, actual = torch.view_as_real(expected), torch.view_as_real(actual)
    if torch.equal(expected, actual):
        return None
    if expected.is_floating_point():
        nan = expected.isnan()
        if torch.equal(nan, actual.isnan()) and torch.equal(expected[~nan], actual[~nan]):
            return None
    wrong = (expected != actual) & ~(expected.isnan() & actual.isnan()) \
        if expected.is_floating_point() else expected != actual
    where = tuple(wrong.nonzero()[0].tolist())
    return (f"{path}: {int(wrong.sum())} of {wrong.numel()} values differ, e.g. at {where}: "
            f"{expected[where].item()!r} on the CPU, {actual[where].item()!r} here")


def run_sample(op, sample):
    """(kind, message) for one OpInfo sample: one of the kinds above, and what went wrong."""
    parts = _parts(sample)
    name = op.name
    try:
        on_device = _on_device(name, map_tensors(_copy, parts))
    except SimulatedDeviceUnsupported as error:          # sparse inputs, for instance
        return UNSUPPORTED, _short(error)
    spare = map_tensors(_copy, parts)                           # for a second CPU run
    try:
        expected, cpu_error = _call(op, parts, False), None
    except Exception as error:                           # noqa: BLE001 - any error of the op
        expected, cpu_error = None, error
    try:
        actual, error = _call(op, on_device, True), None
    except Exception as raised:                          # noqa: BLE001
        actual, error = None, raised
    if cpu_error is not None:
        return (BOTH_RAISED, "") if error is not None else (
            FAILED, f"the CPU raised {_short(cpu_error)}; the simulated device did not")
    if isinstance(error, SimulatedDeviceUnsupported):
        return UNSUPPORTED, _short(error)
    if error is not None:
        return FAILED, f"raised {_short(error)}"
    if name in UNINITIALISED:
        found = _difference(expected, actual, values=False,
                            on_device=not _asks_for_the_cpu(parts))
        return (FAILED, found) if found else (SHAPE_ONLY, "")
    found = _difference(expected, actual, on_device=not _asks_for_the_cpu(parts)) or _difference(
        parts, on_device, "the inputs after", on_device=False)
    if not found:
        return AGREED, ""
    try:
        again = _call(op, spare, False)
    except Exception:                                    # noqa: BLE001
        return FAILED, found
    if name in CPU_NONDETERMINISTIC or _difference(expected, again, on_device=False) \
            or _difference(parts, spare, "the inputs after", on_device=False):
        try:                                             # the CPU differs from itself
            torch.testing.assert_close(_back(actual), _back(expected), equal_nan=True)
            return CLOSE, found
        except (AssertionError, TypeError, ValueError, RuntimeError):
            return FAILED, f"{found} (not even close; the CPU does not reproduce itself)"
    return FAILED, found


def _back(value):
    """``value`` with its tensors' CPU data, tuples of any kind (torch.return_types) as tuples."""
    if isinstance(value, tuple):
        return tuple(_back(item) for item in value)
    return map_tensors(from_simulated, value)


# --- sweeps ---------------------------------------------------------------------------------------
def _samples(op, dtype, first_only=False):
    """(index, sample) of ``op`` in ``dtype``: the first, or all of them with the conjugated
    copies of the samples (``include_conjugated_inputs``) for complex dtypes."""
    conjugated = dtype.is_complex and op.test_conjugated_samples and not first_only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        samples = op.sample_inputs("cpu", dtype, include_conjugated_inputs=conjugated)
        return list(enumerate(itertools.islice(samples, 1) if first_only else samples))


def _cases(dtypes, first_only=False):
    """(op, dtype, index, sample) of every operator of op_db in each of ``dtypes`` it supports
    on the CPU."""
    with warnings.catch_warnings():         # imported here, not when every worker collects
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db
    for op in op_db:
        supported = op.supported_dtypes("cpu")
        for dtype in dtypes:
            if dtype in supported:
                for index, sample in _samples(op, dtype, first_only):
                    yield op, dtype, index, sample


def _label(op):
    return op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")


def sweep(cases):
    """Run ``cases``; return (Counter of (dtype, kind), failures, Counters of the unsupported and
    the close operations, seconds)."""
    totals, failures, unsupported, close = Counter(), [], Counter(), Counter()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for op, dtype, index, sample in cases:
            try:
                kind, message = run_sample(op, sample)
            except Exception as error:                   # noqa: BLE001 - a bug of this test
                kind, message = FAILED, f"the test itself raised {_short(error)}"
            totals[str(dtype).removeprefix("torch."), kind] += 1
            if kind == FAILED:
                failures.append(f"{_label(op)} {str(dtype).removeprefix('torch.')} sample "
                                f"{index}: {message}")
            elif kind == CLOSE:
                close[_label(op)] += 1
            elif kind == UNSUPPORTED:
                why = message.removeprefix("SimulatedDeviceUnsupported: ")
                unsupported[f"{_label(op)}: {why}"] += 1
    return totals, failures, unsupported, close, time.perf_counter() - start


def _report(title, totals, failures, unsupported, close, seconds):
    kinds = (AGREED, BOTH_RAISED, SHAPE_ONLY, CLOSE, UNSUPPORTED, FAILED)
    lines = [f"OpInfo agreement count, {title}: {sum(totals.values())} samples in "
             f"{seconds:.0f} s: " + ", ".join(
                 f"{sum(n for (_, k), n in totals.items() if k == kind)} {kind}"
                 for kind in kinds)]
    for dtype in sorted({d for d, _ in totals}):
        lines.append(f"  {dtype}: " + ", ".join(
            f"{totals[dtype, kind]} {kind}" for kind in kinds if totals[dtype, kind]))
    for what, count in sorted(unsupported.items()):
        lines.append(f"  unsupported x{count}: {what}")
    for what, count in sorted(close.items()):
        lines.append(f"  close x{count}: {what}")
    lines += [f"  FAILED {failure}" for failure in failures[:40]]
    if len(failures) > 40:
        lines.append(f"  ... and {len(failures) - 40} more failures")
    return "\n".join(lines)


@pytest.fixture
def quick_samples(monkeypatch):
    """OpInfo's sample generation, without two costs that are not about the samples:

    * ``op.sample_inputs`` looks for a unittest test on the stack, with ``inspect.stack()``, which
      reads the source of every frame (a quarter of a second under pytest): there is none here,
      so the answer is None;
    * before each sample it seeds the random generators with ``torch.manual_seed``, which also
      queues the seed for CUDA with a formatted stack trace (two thirds of the sweep's time):
      the CPU generator, ``random`` and NumPy get the same seed directly.

    The samples are the same. The operators run on one thread: their inputs are small, and two
    OpenMP threads on a loaded 2-core machine wait for each other (the sweep took 6 minutes
    instead of 1 while other tests ran).
    """
    from torch.testing._internal import common_utils
    from torch.testing._internal.opinfo import core

    def set_rng_seed(seed=None):
        seed = common_utils.SEED if seed is None else seed
        torch.default_generator.manual_seed(seed)
        random.seed(seed)
        numpy.random.seed(seed)
    monkeypatch.setattr(common_utils, "extract_test_fn", lambda: None)
    monkeypatch.setattr(core, "extract_test_fn", lambda: None)
    monkeypatch.setattr(common_utils, "set_rng_seed", set_rng_seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _check(title, cases, capsys):
    totals, failures, unsupported, close, seconds = sweep(cases)
    report = _report(title, totals, failures, unsupported, close, seconds)
    with capsys.disabled():
        print("\n" + report)
    assert not failures, report
    assert sum(totals[d, k] for d, k in totals if k == AGREED) > 0


def test_opinfo_sample_agrees_with_the_cpu(capsys, quick_samples):
    """The first sample of every operator, in each of DTYPES it supports on the CPU."""
    _check("the first sample of every operator in every dtype", _cases(DTYPES, first_only=True),
           capsys)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).removeprefix("torch."))
def test_opinfo_sweep_agrees_with_the_cpu(dtype, capsys, quick_samples):
    _check(f"every sample in {str(dtype).removeprefix('torch.')}", _cases((dtype,)), capsys)


# --- the cases of the bug report (issue 14), and what the sweep relies on -----------------------
def _on_cpu_and_device(function, *tensors):
    """(the CPU's result, the simulated device's result) of ``function(*tensors)``."""
    expected = function(*[_copy(t) for t in tensors])
    with simulated_device():
        actual = function(*[to_simulated(_copy(t)) for t in tensors])
    return expected, actual


def _assert_same(expected, actual):
    found = _difference(expected, actual)
    assert found is None, found


X = torch.arange(24.0).reshape(4, 6)


@pytest.mark.parametrize("index", [
    "[1, 2]", "[:, [0, 2]]", "[list(range(3, -1, -1))]", "[:, order]",
    "[[True, False, True, False]]", "[[[0, 1], [1, 2]]]", "[[0, 1], [1, 2]]",
    "[..., [True, False] * 3]", "[None, [1, 0]]", "[[1, True]]", "[[1.7, 0]]", "[[]]",
    "[[0] * 40]", "[range(2)]", "[(0, 2),]", "[[0, slice(1, 3)]]", "[numpy.array([2, 0])]",
    "[1:, [[0], [2]]]", "[[torch.tensor(1), 2]]", "[[[True, False] * 3] * 4,]",
])
@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
def test_python_lists_index_the_simulated_device_like_the_cpu(index):
    order = [5, 0, 3]
    namespace = {"torch": torch, "numpy": numpy, "order": order}
    expected, actual = _on_cpu_and_device(lambda x: eval(f"x{index}", {**namespace, "x": x}), X)
    assert isinstance(actual, SimulatedTensor)
    _assert_same(expected, actual)


def test_the_indexing_of_the_bug_report():
    """Issue 14: these gave uninitialised memory (6.1e-38 and the like) on the simulated device."""
    x = torch.arange(12.0).reshape(3, 4)
    for index in ([1, 2], (slice(None), [0, 2]), [True, False, True]):
        expected, actual = _on_cpu_and_device(lambda x: x[index], x)
        _assert_same(expected, actual)
    assert from_simulated(actual).tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]


def test_flipping_a_kernel_with_a_list_index():
    """corr2d's flip for conv2d: k[list(range(kh - 1, -1, -1))][:, list(range(kw - 1, -1, -1))]."""
    def flip(k):
        kh, kw = k.shape
        return k[list(range(kh - 1, -1, -1))][:, list(range(kw - 1, -1, -1))]
    k = torch.randn(3, 5)
    expected, actual = _on_cpu_and_device(flip, k)
    _assert_same(expected, actual)
    assert torch.equal(from_simulated(actual), k.flip(0, 1))


@pytest.mark.parametrize("index", ["[[0, 2]]", "[:, [1, 3]]", "[[True, False, True, False]]",
                                   "[[0, 1], [4, 5]]", "[[[0, 3], [1, 2]]]"])
@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
def test_python_lists_write_through_setitem_like_the_cpu(index):
    def write(x):
        y = x.clone()
        exec(f"y{index} = -1.0", {"y": y})
        exec(f"y{index} = y{index} * 2 + x{index}", {"y": y, "x": x})
        return y
    expected, actual = _on_cpu_and_device(write, X)
    _assert_same(expected, actual)


def test_explicit_getitem_setitem_and_use_outside_the_context():
    x = to_simulated(X.clone())
    with simulated_device():
        picked = torch.Tensor.__getitem__(x, [2, 0])
        torch.Tensor.__setitem__(x, ([0, 1], [1, 2]), 7.0)
    outside = x[[3, 1]]                          # no simulated_device(): the class handles it
    assert torch.equal(from_simulated(picked), X[[2, 0]])
    assert torch.equal(from_simulated(outside), from_simulated(x)[[3, 1]])
    assert from_simulated(x)[0, 1] == from_simulated(x)[1, 2] == 7.0


def test_fft_cross_correlation_with_a_conjugate():
    def corr2d_fft(x, k):
        h, w = x.shape
        kh, kw = k.shape
        spectrum = torch.fft.rfft2(x) * torch.fft.rfft2(k, s=(h, w)).conj()
        return torch.fft.irfft2(spectrum, s=(h, w))[: h - kh + 1, : w - kw + 1]
    x, k = torch.randn(7, 9), torch.randn(3, 4)
    expected, actual = _on_cpu_and_device(corr2d_fft, x, k)
    _assert_same(expected, actual)


@pytest.mark.parametrize("expression", [
    "z.conj() * z", "z.conj() @ z", "(z.conj() + 1).sum()", "z.conj().imag * 2",
    "z.conj().imag.clone()", "torch._neg_view(r) + r", "torch._neg_view(r).exp()",
    "torch.fft.hfft(z)", "torch.linalg.pinv(z)", "torch.linalg.solve(z, z.conj())",
    "z.var()", "z.std(0)", "torch.view_as_real(z.conj().resolve_conj())",
    "torch.linalg.svdvals(z)", "torch.linalg.cond(r)", "torch.norm(z, 'nuc')",
])
def test_conjugate_and_negative_views_give_the_cpu_values(expression):
    torch.manual_seed(3)
    z, r = torch.randn(4, 4, dtype=torch.complex64), torch.randn(4, 4)
    expected, actual = _on_cpu_and_device(
        lambda z, r: eval(expression, {"torch": torch, "z": z, "r": r}), z, r)
    _assert_same(expected, actual)


def test_writes_through_a_conjugate_view_reach_the_base():
    z = torch.randn(3, dtype=torch.complex64)

    def write(z):
        y = z.clone()
        view = y.conj()
        view[0] = 1 + 2j
        view.mul_(2)
        return y, view.is_conj()
    expected, actual = _on_cpu_and_device(write, z)
    _assert_same(expected, actual)


def test_tensors_from_python_data_follow_the_device():
    expected, actual = _on_cpu_and_device(
        lambda x: (x.new([1.0, 2.0]), x.new(2, 3).shape, torch.unravel_index(
            torch.tensor([5, 7], device=x.device), (3, 4))), X)
    _assert_same(expected, actual)


def test_a_tensor_made_without_its_data_is_refused_not_computed_with():
    def adds_data_on_the_device(x):
        if torch.overrides.has_torch_function((x,)):
            return torch.overrides.handle_torch_function(adds_data_on_the_device, (x,), x)
        # The mode is off inside: PyTorch makes this on 'meta', with no values.
        return x + torch.tensor([1.0] * 6, device=x.device)
    x = to_simulated(X.clone())
    with simulated_device(), pytest.raises(SimulatedDeviceUnsupported) as caught:
        adds_data_on_the_device(x)
    assert "aten.add.Tensor is not supported on the checks' simulated device" in str(caught.value)
    assert "not a\n    mistake in your code" in str(caught.value)
    assert not isinstance(caught.value, DeviceMismatchError)


def test_sparse_tensors_are_refused_plainly():
    with pytest.raises(SimulatedDeviceUnsupported, match="sparse"):
        to_simulated(torch.eye(3).to_sparse())
    x = to_simulated(torch.eye(3))
    with simulated_device(), pytest.raises(SimulatedDeviceUnsupported, match="sparse"):
        x.to_sparse()
