// @ts-check
// The scale method of a project, its focal length, the uncertainty budget per image, and what
// a scale-length change did to the detected scale points (docs/strain.md, "Scale methods").
import { h } from './dom.js';
import { fixed, mm, plural } from './format.js';
import { saveProject, store } from './state.js';
import { toast, toastError } from './ui.js';
import { rules } from './rules.js';

/** The engine's scale methods as [key, label] (GET /api/rules), after the automatic choice. */
function scaleMethods() {
  return [['', 'Automatic'], ...rules().scale_methods.map((m) => [m.key, m.label])];
}

/** Label of a method key as the analysis reports it. */
export function methodLabel(key) {
  return scaleMethods().find(([k]) => k === key)?.[1] ?? String(key ?? '—');
}

/** The project's scale-method choice. */
export function scaleMethodField() {
  const p = store.project;
  const sel = /** @type {HTMLSelectElement} */ (h(
    'select.input',
    { id: 'scale-method', 'aria-describedby': 'scale-method-help' },
    scaleMethods().map(([k, label]) => h('option', { value: k }, label)),
  ));
  sel.value = p?.scale_method ?? '';
  sel.addEventListener('change', async () => {
    try {
      await saveProject({ scale_method: sel.value === '' ? null : sel.value });
    } catch (e) {
      toastError(e);
    }
  });
  return h(
    'label.inline-field',
    { title: 'How pixels become millimetres. Automatic: perspective-corrected from the detected ruler when every image has one, else the two scale points.' },
    h('span', null, 'Scale'),
    sel,
    h('span.sr-only', { id: 'scale-method-help' }, 'Automatic uses the detected ruler with perspective correction when every image has one, otherwise the two scale points A and B.'),
  );
}

/** The 35 mm-equivalent focal length used by the perspective correction (empty = EXIF or 28 mm). */
export function focalField() {
  const p = store.project;
  const input = /** @type {HTMLInputElement} */ (h('input.input.num.narrow', {
    type: 'number',
    id: 'focal-length',
    min: '8',
    max: '2000',
    step: 'any',
    placeholder: '28',
    props: { value: p?.focal_35mm ?? '' },
  }));
  input.addEventListener('change', async () => {
    const raw = input.value.trim();
    const v = raw === '' ? null : input.valueAsNumber;
    if (v !== null && !(Number.isFinite(v) && v >= 8 && v <= 2000)) {
      input.setAttribute('aria-invalid', 'true');
      toast('The focal length must be a 35 mm-equivalent value between 8 and 2000 mm, or empty for the default.', 'error');
      return;
    }
    input.removeAttribute('aria-invalid');
    try {
      await saveProject({ focal_35mm: v });
    } catch (e) {
      toastError(e);
    }
  });
  return h(
    'label.inline-field',
    { title: '35 mm-equivalent focal length of the camera, for the perspective correction (empty: the photo’s EXIF, else 28 mm)' },
    h('span', null, 'Focal'),
    input,
    h('span.unit', null, 'mm'),
  );
}

/**
 * The pitch of the project's dot-grid calibration target (empty = none): detection then finds
 * the target in each photo. With a link to print one.
 */
export function targetField() {
  const p = store.project;
  const input = /** @type {HTMLInputElement} */ (h('input.input.num.narrow', {
    type: 'number',
    id: 'target-pitch',
    min: '0.5',
    max: '100',
    step: 'any',
    placeholder: 'none',
    props: { value: p?.target_pitch_mm ?? '' },
  }));
  const link = h('a.small', { id: 'target-print', target: '_blank', rel: 'noopener', title: 'A printable dot grid of this pitch (SVG, print at 100 %)' }, 'Print');
  const setLink = () => {
    const v = input.valueAsNumber;
    link.setAttribute('href', `api/target.svg?pitch=${Number.isFinite(v) && v >= 1 && v <= 50 ? v : 5}`);
  };
  setLink();
  input.addEventListener('change', async () => {
    const raw = input.value.trim();
    const v = raw === '' ? null : input.valueAsNumber;
    if (v !== null && !(Number.isFinite(v) && v > 0 && v <= 100)) {
      input.setAttribute('aria-invalid', 'true');
      toast('The target pitch is the distance between the dots’ centres: more than 0 and at most 100 mm, or empty for no target.', 'error');
      return;
    }
    input.removeAttribute('aria-invalid');
    setLink();
    try {
      await saveProject({ target_pitch_mm: v });
    } catch (e) {
      toastError(e);
    }
  });
  return h(
    'label.inline-field',
    { title: 'Pitch of a printed dot-grid calibration target lying in the specimen’s plane (empty: none). Detection then finds it in each photo and the “Calibration target” scale undoes perspective and lens distortion.' },
    h('span', null, 'Target'),
    input,
    h('span.unit', null, 'mm'),
    link,
  );
}

const TERMS = [
  ['points', 'Points', 'placement of the five markers (point σ)'],
  ['scale_model', 'Scale model', 'the two scale points, the ruler model’s fit, or the target’s fit'],
  ['scale_variation', 'Scale variation', 'perspective the method leaves out, or the focal length’s uncertainty'],
];

/** The uncertainty budget of εxx and εyy per image, the largest term marked. */
export function budgetCard(rows, pid) {
  const cell = (v, top) => h(`td.num${top ? '.dominant' : ''}`, { title: String(v) }, fixed(v, 4));
  const body = rows.map((r) => {
    const b = r.budget ?? {};
    const cells = [];
    for (const axis of ['xx', 'yy']) {
      const vals = TERMS.map(([k]) => b[k]?.small?.[axis] ?? 0);
      const max = Math.max(...vals);
      vals.forEach((v) => cells.push(cell(v, max > 0 && v === max)));
      cells.push(h('td.num.total', null, fixed(r.uncertainty?.small?.[axis], 4)));
    }
    const name = r.image_id !== undefined && r.image_id !== null ? h('a', { href: `#/project/${pid}/image/${r.image_id}`, title: r.name }, r.name) : r.name;
    return h('tr', { dataset: { imageId: r.image_id ?? '' } }, h('td.name-cell', null, h('span.name-wrap', null, name)), cells);
  });
  const groupHead = (sym) => [
    ...TERMS.map(([, label, title]) => h('th.num', { scope: 'col', title }, label)),
    h('th.num', { scope: 'col', title: 'root sum of squares: the ± of the strain table' }, 'Combined'),
  ].map((th) => {
    th.dataset.axis = sym;
    return th;
  });
  return h(
    'section.card',
    { id: 'budget' },
    h('div.card-head', null, h('h2', null, 'Uncertainty budget'), h('span.muted.small', null, 'standard uncertainties of εxx and εyy; the largest term of each is marked')),
    h(
      'div.table-scroll',
      null,
      h(
        'table.table.data.budget',
        { id: 'budget-table' },
        h(
          'thead',
          null,
          h('tr', null, h('th', { scope: 'col', rowspan: '2' }, 'Image'), h('th.group', { scope: 'colgroup', colspan: '4' }, 'ε', h('sub', null, 'xx')), h('th.group', { scope: 'colgroup', colspan: '4' }, 'ε', h('sub', null, 'yy'))),
          h('tr', null, groupHead('xx'), groupHead('yy')),
        ),
        h('tbody', null, body),
      ),
    ),
  );
}

/** Tell the user what a scale-length change did; true when image records changed. */
export function announceScaleChange(change) {
  if (!change) return false;
  const replaced = change.replaced?.length ?? 0;
  const removed = change.removed ?? [];
  const manual = change.manual ?? [];
  if (replaced) toast(`Detected scale points of ${plural(replaced, 'image')} placed again ${mm(change.new_length)} mm apart from each image’s ruler model.`, 'ok');
  for (const r of removed) toast(`${r.filename}: scale points removed: ${r.message}`, 'error', { timeout: 12000 });
  if (manual.length) {
    toast(`${plural(manual.length, 'image')} with hand-placed scale points (${manual.map((m) => m.filename).join(', ')}): they now stand for ${mm(change.new_length)} mm instead of ${mm(change.old_length)} mm — check them.`, 'error', { timeout: 12000 });
  }
  return replaced + removed.length > 0;
}
