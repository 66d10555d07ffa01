"""The book's hidden plumbing: what its pages draw, tabulate and time, out of the pages.

The pages keep their teaching code visible and call these helpers from hidden cells, so a
reader sees the convolution and not the matplotlib or Markdown that draws it. Every figure
and table is drawn on build from the numbers the page computed and checked; no helper
decides a fact.

A page imports the modules it needs, and names every helper by its module (d2l-style)::

    from figures import ch04, common
    ch04.taps_figure(n, k, (1, 2, 4))

* `common`: what several chapters draw alike (grids of numbered cells, outlined windows,
  Markdown tables);
* `ch01` ... `ch10`: one module per chapter that has figures, tables or saved code of its own;
* `animate`: the embedded players of the moving pictures, and light (palette) PNGs;
* `benchmarking`: careful timings, for chapter 9 and ``benchmarks/im2col_vs_torch.py``.

The pages run with the working folder book/, where ``figures`` is found; tests find it
through ``pythonpath`` in pyproject.toml.
"""
