// @ts-check
// Stress in the analysis (frames of a film with the test machine's force): the cross-section
// area field (saved as it is typed, like the other settings) and the strain–stress plot with
// its linear fit, E = modulus. The logic (parsing, points, fit, label) is in analysis-model.js.
import { debounce, h } from './dom.js';
import { fixed, mm, sci } from './format.js';
import { saveProject, store } from './state.js';
import { toast, toastError } from './ui.js';
import { xyPlot } from './plot.js';
import { component } from './rules.js';
import { modulusText, parseArea, stressFit, stressPoints } from './analysis-model.js';

/**
 * The "Cross-section area (mm²)" field. One element for the life of the analysis view (the
 * view redraws itself after every save; the same input keeps what is being typed).
 * @returns {{el: HTMLElement, input: HTMLInputElement, flush: () => void, sync: () => void}}
 */
export function areaField() {
  const input = h('input.input.num', {
    type: 'text',
    inputmode: 'decimal',
    autocomplete: 'off',
    id: 'area-mm2',
    placeholder: 'none',
    props: { value: mm(store.project?.area_mm2) },
    'aria-describedby': 'area-help',
  });
  const save = debounce(async () => {
    const r = parseArea(input.value);
    if (r.error !== undefined) {
      input.setAttribute('aria-invalid', 'true');
      toast(r.error, 'error');
      return;
    }
    input.removeAttribute('aria-invalid');
    if (r.value === (store.project?.area_mm2 ?? null)) return;
    try {
      await saveProject({ area_mm2: r.value });
    } catch (e) {
      input.setAttribute('aria-invalid', 'true');
      toastError(e);
    }
  }, 600);
  input.addEventListener('input', () => save());
  input.addEventListener('change', () => save.flush());
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') save.flush();
  });
  const el = h(
    'label.inline-field',
    { title: 'The specimen’s cross-section area: engineering stress σ = F / area' },
    h('span', null, 'Cross-section area'),
    input,
    h('span.unit', null, 'mm²'),
    h('span.sr-only', { id: 'area-help' }, 'Cross-section area of the specimen in square millimetres; the stress is the force divided by it.'),
  );
  return {
    el,
    input,
    flush: () => save.flush(),
    /** Show the stored area unless the user is typing. */
    sync: () => {
      if (document.activeElement !== input) input.value = mm(store.project?.area_mm2);
    },
  };
}

/**
 * The strain–stress plot (null without a stress in any row): the loading-axis strain of the
 * server's fit against the stress, the fitted line and "E = … ± … MPa, r² = …".
 * @param {any} d  the analysis
 * @param {any[]} rows
 */
export function stressPlotCard(d, rows) {
  const ss = d.stress_strain ?? null;
  const key = ss?.component === 'eps_xx' ? 'eps_xx' : 'eps_yy';
  const pts = stressPoints(rows, key, d.reference_image_id);
  if (!pts.length) return null;
  const c = component(key);
  const strain = c ? c.symbol.join('') : key;
  const eq = modulusText(ss, sci, fixed);
  return h(
    'figure.plot-card',
    { id: 'stress-plot', dataset: { component: 'stress' } },
    xyPlot({
      pts,
      fit: stressFit(ss),
      title: `Stress against ${strain}: ${pts.length} points; ${eq}`,
      xLabel: `${strain} (small strain)`,
      yLabel: 'σ (MPa)',
      pointText: (p) => `${p.name}: ${strain} = ${fixed(p.x, 5)}, σ = ${fixed(p.y, 3)} MPa`,
    }),
    h('figcaption', null, h('span', null, 'Stress σ against ', h('span.comp', null, c?.symbol[0] ?? 'ε', h('sub', null, c?.symbol[1] ?? ''))), h('span.fit-eq', { id: 'stress-fit' }, eq)),
  );
}
