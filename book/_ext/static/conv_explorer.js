/* The convolution explorer: every <div class="conv-explorer"> becomes six sliders (i, k, s,
   p, d, output_padding, the same on both axes) and two panels, F.conv2d and
   F.conv_transpose2d, each with its output size, its formula and the input cells that the
   chosen output cell reads. Pick an output cell by pointing at it, clicking it, with the
   arrow keys on the output grid, or with the buttons.

   Every number and every highlighted cell comes from ConvArithmetic (conv_arithmetic.js, which
   the book's build checks against PyTorch); this file only draws. Plain DOM and SVG. */
(function () {
  'use strict';
  const A = globalThis.ConvArithmetic;
  const SVG = 'http://www.w3.org/2000/svg';
  const MAX_CELL = 22, MIN_CELL = 3, GAP = 16;        // px
  const CONTROLS = [
    ['size', 'input size i'], ['kernel', 'kernel size k'], ['stride', 'stride s'],
    ['padding', 'padding p'], ['dilation', 'dilation d'],
    ['outputPadding', 'output_padding (transposed)']];
  const START = {size: 6, kernel: 3, stride: 2, padding: 1, dilation: 1, outputPadding: 0};
  let instances = 0;

  function make(tag, attributes = {}, text = '') {
    const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4))
      : document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  }

  const list = cells => (cells.length ? cells.join(', ') : 'none');
  // The zero-stuffed line's two ends: q = d(k − 1) − p cells before, q + output_padding
  // after; a negative count crops.
  const end = count => (count < 0 ? `cropped by ${-count}` : `padded by ${count}`);
  const edges = (q, outputPadding) =>
    `The zero-stuffed input is ${end(q)} at the start and ${end(q + outputPadding)} at the end.`;
  const cellSize = (width, cells) =>
    Math.max(MIN_CELL, Math.min(MAX_CELL, Math.floor(width / Math.max(cells, 1))));

  // A figure holding an n × n grid; classOf(r, c) gives each cell's classes.
  function grid(figure, n, cell, classOf, caption) {
    const svg = figure.querySelector('svg');
    svg.replaceChildren();
    svg.setAttribute('width', n * cell);
    svg.setAttribute('height', n * cell);
    svg.setAttribute('viewBox', `0 0 ${n * cell} ${n * cell}`);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        svg.append(make('svg:rect', {x: c * cell, y: r * cell, width: cell, height: cell,
                                     class: 'cx-cell ' + classOf(r, c),
                                     'data-r': r, 'data-c': c}));
      }
    }
    svg.setAttribute('aria-label', caption);
    figure.querySelector('figcaption').textContent = caption;
    figure.hidden = n === 0;
  }

  function figure(name) {
    const node = make('figure', {class: 'cx-grid', 'data-grid': name});
    node.append(make('svg:svg', {role: 'img'}), make('figcaption'));
    return node;
  }

  // One panel: a title, the size line, a message line, grids and a reads line with buttons.
  function panel(kind, title, gridNames) {
    const node = make('section', {class: 'cx-panel', 'data-panel': kind});
    node.append(make('p', {class: 'cx-title'}, title));
    node.append(make('p', {class: 'cx-size', 'data-role': `${kind}-size`}));
    node.append(make('p', {class: 'cx-message', 'data-role': `${kind}-message`,
                           role: 'status'}));
    const rows = gridNames.map(names => {
      const row = make('div', {class: 'cx-row'});
      row.append(...names.map(figure));
      return row;
    });
    node.append(...rows);
    const step = make('div', {class: 'cx-step'});
    const previous = make('button', {type: 'button', 'data-step': '-1',
                                     'aria-label': `previous output cell of the ${title}`},
                          '◀');
    const next = make('button', {type: 'button', 'data-step': '1',
                                 'aria-label': `next output cell of the ${title}`}, '▶');
    step.append(previous, make('span', {class: 'cx-reads', 'data-role': `${kind}-reads`,
                                        'aria-live': 'polite'}), next);
    node.append(step, make('p', {class: 'cx-note', 'data-role': `${kind}-note`}));
    return node;
  }

  function build(root) {
    const id = `cx${instances++}`;
    const state = {pick: {direct: [0, 0], transposed: [0, 0]}, sizes: {}};
    const controls = make('fieldset', {class: 'cx-controls'});
    controls.append(make('legend', {}, 'Arguments, the same along both axes'));
    const inputs = {};
    for (const [name, label] of CONTROLS) {
      const [low, high] = A.LIMITS[name];
      const row = make('div', {class: 'cx-control'});
      const input = make('input', {type: 'range', id: `${id}-${name}`, min: low, max: high,
                                   step: 1, value: START[name], 'data-name': name});
      const shown = make('output', {for: `${id}-${name}`}, String(START[name]));
      row.append(make('label', {for: `${id}-${name}`}, label), input, shown);
      controls.append(row);
      inputs[name] = input;
      input.addEventListener('input', () => { shown.textContent = input.value; update(); });
    }
    const chainRow = make('div', {class: 'cx-control cx-chain'});
    const chain = make('input', {type: 'checkbox', id: `${id}-chain`, checked: ''});
    chainRow.append(chain, make('label', {for: `${id}-chain`},
                                'the transposed convolution takes the direct one\'s output'));
    controls.append(chainRow);
    chain.addEventListener('change', update);

    const legend = make('p', {class: 'cx-legend'});
    for (const [kind, text] of [['cx-input', 'input'], ['cx-pad', 'padding'],
                                ['cx-zero', 'inserted zero'],
                                ['cx-hit', 'read by the chosen output'],
                                ['cx-selected', 'chosen output']]) {
      const swatch = make('svg:svg', {width: 12, height: 12, 'aria-hidden': 'true'});
      swatch.append(make('svg:rect', {width: 12, height: 12, class: `cx-cell ${kind}`}));
      const item = make('span', {class: 'cx-key'});
      item.append(swatch, document.createTextNode(' ' + text));
      legend.append(item);
    }
    const direct = panel('direct', 'Convolution, F.conv2d', [['direct-input', 'direct-output']]);
    const transposed = panel('transposed', 'Transposed convolution, F.conv_transpose2d',
                             [['transposed-input', 'transposed-output'], ['stuffed']]);
    root.replaceChildren(controls, legend, direct, transposed);

    // Choosing an output cell: point, click, arrow keys on the output grid, or the buttons.
    for (const [kind, node] of [['direct', direct], ['transposed', transposed]]) {
      const output = node.querySelector(`[data-grid="${kind}-output"] svg`);
      output.setAttribute('tabindex', '0');
      const pick = (r, c) => {
        const [R, C] = state.pick[kind];
        if (r !== R || c !== C) { state.pick[kind] = [r, c]; update(); }
      };
      const fromEvent = event => {
        const cell = event.target.closest && event.target.closest('rect');
        if (cell) pick(Number(cell.dataset.r), Number(cell.dataset.c));
      };
      output.addEventListener('mouseover', fromEvent);
      output.addEventListener('click', fromEvent);
      const move = (dr, dc) => {
        const n = state.sizes[kind] || 0, [r, c] = state.pick[kind];
        if (n) pick(Math.min(n - 1, Math.max(0, r + dr)), Math.min(n - 1, Math.max(0, c + dc)));
      };
      output.addEventListener('keydown', event => {
        const arrows = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1],
                        ArrowRight: [0, 1]};
        if (arrows[event.key]) { event.preventDefault(); move(...arrows[event.key]); }
      });
      for (const button of node.querySelectorAll('button[data-step]')) {
        button.addEventListener('click', () => {
          const n = state.sizes[kind] || 0;
          if (!n) return;
          const [r, c] = state.pick[kind];
          const at = (r * n + c + Number(button.dataset.step) + n * n) % (n * n);
          pick(Math.floor(at / n), at % n);
        });
      }
    }

    function show(node, kind, text) {
      node.querySelector(`[data-role="${kind}"]`).textContent = text;
    }

    // Clamp the chosen cell into an n × n output; remember n for the buttons and keys.
    function chosen(kind, n) {
      state.sizes[kind] = n;
      const [r, c] = state.pick[kind];
      state.pick[kind] = [Math.min(r, Math.max(n - 1, 0)), Math.min(c, Math.max(n - 1, 0))];
      return state.pick[kind];
    }

    function update() {
      const c = {};
      for (const [name] of CONTROLS) c[name] = Number(inputs[name].value);
      const width = root.clientWidth - 2 * 12;          // the explorer's padding
      const d = A.directSize(c);
      drawDirect(c, d, width);
      const t = {...c, size: chain.checked ? d.size : c.size};
      drawTransposed(t, t.size === undefined ? null : A.transposedSize(t), width);
    }

    function sizeLine(node, kind, formula, numbers, answer) {
      const line = node.querySelector(`[data-role="${kind}-size"]`);
      line.dataset.size = answer && answer.size !== undefined ? answer.size : '';
      line.textContent = answer === null ? 'output size: no input'
        : `output size ${formula} = ${numbers} = `
          + (answer.error ? 'no output' : String(answer.size));
      show(node, `${kind}-message`,
           answer && answer.error ? `PyTorch refuses: ${answer.message}.` : '');
    }

    function drawDirect(c, d, width) {
      sizeLine(direct, 'direct', '⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1', A.directFormula(c),
               d);
      const padded = c.size + 2 * c.padding, n = d.error ? 0 : d.size;
      const [R, C] = chosen('direct', n);
      const cell = cellSize(width - GAP, padded + n);
      const windowRows = n ? A.directWindow(c, R) : [], windowCols = n ? A.directWindow(c, C) : [];
      const hits = new Set(n ? A.grid(A.directReads, c, R, C).map(([a, b]) =>
        `${a + c.padding},${b + c.padding}`) : []);
      const inside = v => v >= c.padding && v < c.padding + c.size;
      grid(direct.querySelector('[data-grid="direct-input"]'), padded, cell, (r, col) => {
        const kind = inside(r) && inside(col) ? 'cx-input' : 'cx-pad';
        const under = windowRows.includes(r) && windowCols.includes(col) ? ' cx-window' : '';
        return kind + under + (hits.has(`${r},${col}`) ? ' cx-hit' : '');
      }, `input ${c.size} × ${c.size}, padded to ${padded} × ${padded}`);
      grid(direct.querySelector('[data-grid="direct-output"]'), n, cell,
           (r, col) => (r === R && col === C ? 'cx-out cx-selected' : 'cx-out'),
           `output ${n} × ${n}`);
      if (!n) {
        show(direct, 'direct-reads', 'no output cell');
        show(direct, 'direct-note', '');
        return;
      }
      const rows = A.directReads(c, R), cols = A.directReads(c, C);
      show(direct, 'direct-reads', `output (${R}, ${C}) reads input rows ${list(rows)} and `
           + `columns ${list(cols)}: ${rows.length * cols.length} of its window's `
           + `${c.kernel * c.kernel} cells`);
      show(direct, 'direct-note', `Its window starts at row ${R}·s = ${R * c.stride} and `
           + `column ${C * c.stride} of the padded input, with a gap of d − 1 = `
           + `${c.dilation - 1} between taps.`);
    }

    function drawTransposed(c, t, width) {
      const formula = '(i − 1)s − 2p + d(k − 1) + output_padding + 1';
      sizeLine(transposed, 'transposed', formula, t ? A.transposedFormula(c) : '', t);
      const stuffedFigure = transposed.querySelector('[data-grid="stuffed"]');
      const inputFigure = transposed.querySelector('[data-grid="transposed-input"]');
      const outputFigure = transposed.querySelector('[data-grid="transposed-output"]');
      if (!t) {
        for (const node of [stuffedFigure, inputFigure, outputFigure]) {
          grid(node, 0, 1, () => '', '');
        }
        chosen('transposed', 0);
        show(transposed, 'transposed-reads', 'no output cell');
        show(transposed, 'transposed-note', 'Its input is the output of the convolution '
             + 'above, which has none. Untick the box to give it i × i cells instead.');
        return;
      }
      const n = t.error ? 0 : t.size;
      const [R, C] = chosen('transposed', n);
      const cell = cellSize(width - GAP, c.size + n);
      const hits = new Set(n ? A.grid(A.transposedReads, c, R, C).map(([a, b]) => `${a},${b}`)
        : []);
      grid(inputFigure, c.size, cell, (r, col) =>
        'cx-input' + (hits.has(`${r},${col}`) ? ' cx-hit' : ''),
           `input ${c.size} × ${c.size}` + (chain.checked ? ' (the output above)' : ''));
      grid(outputFigure, n, cell,
           (r, col) => (r === R && col === C ? 'cx-out cx-selected' : 'cx-out'),
           `output ${n} × ${n}`);
      // The same output as a direct convolution: zero-stuffed, padded (or cropped) input.
      const length = n ? A.stuffedLength(c) : 0;
      const kinds = Array.from({length}, (_, v) => A.stuffedCell(c, v));
      const windowRows = n ? A.stuffedWindow(c, R) : [];
      const windowCols = n ? A.stuffedWindow(c, C) : [];
      grid(stuffedFigure, length, cellSize(width, length), (r, col) => {
        const a = kinds[r], b = kinds[col];
        const kind = a.kind === 'pad' || b.kind === 'pad' ? 'cx-pad'
          : a.kind === 'input' && b.kind === 'input' ? 'cx-input' : 'cx-zero';
        const under = windowRows.includes(r) && windowCols.includes(col);
        return kind + (under ? ' cx-window' : '') + (under && kind === 'cx-input' ? ' cx-hit' : '');
      }, `the same output as a direct convolution with the flipped kernel: the input with `
         + `s − 1 = ${c.stride - 1} zeros between cells, padded by d(k − 1) − p = `
         + `${String(A.stuffedPadding(c)).replace('-', '−')} on each side (a negative count `
         + `crops) and output_padding more at the end: ${length} × ${length}`);
      if (!n) {
        show(transposed, 'transposed-reads', 'no output cell');
        show(transposed, 'transposed-note', '');
        return;
      }
      const rows = A.transposedReads(c, R), cols = A.transposedReads(c, C);
      const count = rows.length * cols.length;
      show(transposed, 'transposed-reads', `output (${R}, ${C}) receives from input rows `
           + `${list(rows)} and columns ${list(cols)}: `
           + (count ? `${count} cells` : 'no input cell, no stamp reaches it'));
      const same = A.stuffedReads(c, R).join() === rows.join()
        && A.stuffedReads(c, C).join() === cols.join();
      show(transposed, 'transposed-note',
           (same ? 'The window below covers the same input cells: gather and scatter agree.'
            : 'The window below covers other input cells: the two views disagree!')
           + ` ${edges(A.stuffedPadding(c), c.outputPadding)}`);
    }

    update();
    let width = root.clientWidth;                       // redraw when the page is resized
    window.addEventListener('resize', () => {
      if (root.clientWidth !== width) { width = root.clientWidth; update(); }
    });
  }

  function start() {
    for (const root of document.querySelectorAll('div.conv-explorer')) build(root);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
