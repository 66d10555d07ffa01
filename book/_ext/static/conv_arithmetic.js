/* Convolution arithmetic along one axis, for the convolution explorer (conv_explorer.js).

   Pure functions, no page: the book's build runs this very file in a JavaScript engine over
   every setting the explorer's sliders allow and compares each answer with PyTorch
   (book/explorer_check.py, called from book/06_explorer.md). Every number and every
   highlighted cell the explorer draws comes from here, so what the reader sees was checked.

   A setting is {size, kernel, stride, padding, dilation, outputPadding}: the i, k, s, p, d
   and output_padding of F.conv1d / F.conv_transpose1d. The explorer uses one setting for both
   axes of its square grids; a 2-D window is the product of the rows and columns it reads.
   Positions count from 0. Sizes that PyTorch refuses come back as {error, message}. */
(function () {
  'use strict';

  // The explorer's sliders, [lowest, highest]: the build checks every setting within them.
  const LIMITS = {size: [1, 8], kernel: [1, 4], stride: [1, 3], padding: [0, 3],
                  dilation: [1, 3], outputPadding: [0, 2]};

  const range = n => Array.from({length: Math.max(n, 0)}, (_, a) => a);
  const taps = c => range(c.kernel).map(a => a * c.dilation);   // a·d for a = 0 … k − 1

  // conv: floor((i + 2p − d(k − 1) − 1) / s) + 1, once the dilated kernel fits the padded
  // input.
  function directSize(c) {
    const padded = c.size + 2 * c.padding, extent = c.dilation * (c.kernel - 1) + 1;
    if (extent > padded) {
      return {error: 'kernel', message: `the dilated kernel spans d(k − 1) + 1 = ${extent} `
              + `cells, more than the padded input's i + 2p = ${padded}`};
    }
    return {size: Math.floor((c.size + 2 * c.padding - c.dilation * (c.kernel - 1) - 1)
                             / c.stride) + 1};
  }

  // conv_transpose: (i − 1)s − 2p + d(k − 1) + output_padding + 1. PyTorch refuses an
  // output_padding that is not smaller than the stride or the dilation, and an empty output.
  function transposedSize(c) {
    if (c.outputPadding >= Math.max(c.stride, c.dilation)) {
      return {error: 'output_padding', message: `output_padding = ${c.outputPadding} must be `
              + `smaller than the stride (${c.stride}) or the dilation (${c.dilation})`};
    }
    const size = (c.size - 1) * c.stride - 2 * c.padding + c.dilation * (c.kernel - 1)
      + c.outputPadding + 1;
    if (size < 1) {
      return {error: 'empty', message: `the output would have ${size} cells: the padding `
              + `crops away everything the kernel reaches`};
    }
    return {size};
  }

  // Each formula with the setting's numbers in, as the explorer prints it. The build reads
  // it back as arithmetic (⌊a / b⌋ is floor division) and compares it with PyTorch's size.
  function directFormula(c) {
    return `⌊(${c.size} + 2×${c.padding} − ${c.dilation}×(${c.kernel} − 1) − 1) / `
      + `${c.stride}⌋ + 1`;
  }

  function transposedFormula(c) {
    return `(${c.size} − 1)×${c.stride} − 2×${c.padding} + ${c.dilation}×(${c.kernel} − 1)`
      + ` + ${c.outputPadding} + 1`;
  }

  // Direct: output j's window covers the padded input's cells j·s + a·d (padding first).
  function directWindow(c, j) {
    return taps(c).map(t => j * c.stride + t);
  }

  // The input cells output j reads: its window, less the padding.
  function directReads(c, j) {
    return directWindow(c, j).map(t => t - c.padding).filter(m => m >= 0 && m < c.size);
  }

  // Transposed, as a scatter: input m adds m's value times the kernel to the outputs
  // m·s + a·d − p, so output j receives from every m with j + p − m·s equal to some a·d.
  function transposedReads(c, j) {
    return range(c.size).filter(m => taps(c).includes(j + c.padding - m * c.stride));
  }

  // Transposed, as a direct convolution: insert s − 1 zeros between input cells, add
  // q = d(k − 1) − p cells of zeros before and q + output_padding after (a negative count
  // crops instead), and slide the flipped kernel over that line with stride 1.
  function stuffedPadding(c) {
    return c.dilation * (c.kernel - 1) - c.padding;
  }

  function stuffedLength(c) {
    return (c.size - 1) * c.stride + 1 + 2 * stuffedPadding(c) + c.outputPadding;
  }

  // What cell t of that line holds: {kind: 'input', index: m}, {kind: 'zero'} (inserted)
  // or {kind: 'pad'}.
  function stuffedCell(c, t) {
    const u = t - stuffedPadding(c);            // position among the zero-stuffed inputs
    if (u < 0 || u > (c.size - 1) * c.stride) return {kind: 'pad'};
    return u % c.stride === 0 ? {kind: 'input', index: u / c.stride} : {kind: 'zero'};
  }

  function stuffedWindow(c, j) {
    return taps(c).map(t => j + t);
  }

  // The input cells under output j's window on that line: the same set as transposedReads.
  function stuffedReads(c, j) {
    return stuffedWindow(c, j).map(t => stuffedCell(c, t))
      .filter(cell => cell.kind === 'input').map(cell => cell.index);
  }

  // A square grid: output (r, col) reads the product of the rows and the columns it reads.
  function grid(reads, c, r, col) {
    const rows = reads(c, r), cols = reads(c, col);
    return rows.flatMap(a => cols.map(b => [a, b]));
  }

  globalThis.ConvArithmetic = {
    LIMITS, directSize, transposedSize, directFormula, transposedFormula, directWindow,
    directReads, transposedReads, stuffedPadding, stuffedLength, stuffedCell, stuffedWindow,
    stuffedReads, grid};
})();
