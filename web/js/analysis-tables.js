// @ts-check
// The analysis view's tables and cards (DOM; analysis.js puts them together, their logic is in
// analysis-model.js): the strain table with its "In fit" cells, the regression table, the stat
// cards, the lists of images, the images left out and the downloads.
import { api, urls } from './api.js';
import { h, icon } from './dom.js';
import { fixed, mm, plural, pValue, sci } from './format.js';
import { store } from './state.js';
import { badge, toastError } from './ui.js';
import { component, rules } from './rules.js';
import { isExcluded, leftOut, MIN_FITTED, optionalColumns, rowClass } from './analysis-model.js';

/** A component's symbol (letter, subscript) and optionally what it is, as GET /api/rules has it. */
export function componentLabel(key, withName = false) {
  const c = component(key);
  if (!c) return h('span', null, key);
  const [letter, sub] = c.symbol;
  return h('span.comp', null, letter, sub ? h('sub', null, sub) : null, withName ? h('span.comp-name', null, ` ${c.description}`) : null);
}

/** Exclude an image from the fits (reason: a string, may be empty) or include it (null). */
export async function setExcluded(imageId, reason) {
  try {
    await api.patchImage(store.project.id, imageId, { excluded: reason });
  } catch (e) {
    toastError(e);
  }
}

/**
 * A card listing images (null when there are none): a title with the count, and one list item
 * per image made of `parts(item)`.
 * @template T
 * @param {string} title
 * @param {string} id
 * @param {T[]} items
 * @param {(item: T) => Array<Node | null>} parts
 */
export function imageCard(title, id, items, parts) {
  if (!items.length) return null;
  return h(
    'section.card',
    null,
    h('div.card-head', null, h('h2', null, title), h('span.muted', null, plural(items.length, 'image'))),
    h('ul.fix-list', { id }, items.map((it) => h('li', null, ...parts(it)))),
  );
}

/**
 * The "In fit" cell: a tick box and, when unticked, the reason. `canExclude` false keeps the
 * last MIN_FITTED images in (their box cannot be unticked, and says why).
 */
function fitCell(r, changed, canExclude = true) {
  if (r.image_id === undefined || r.image_id === null) return h('td', null, '');
  const excluded = isExcluded(r);
  const box = h('input', {
    type: 'checkbox',
    class: 'fit-toggle',
    'aria-label': `Use ${r.name} in the fits`,
    title: !excluded && !canExclude ? `The fits need at least ${MIN_FITTED} images` : null,
    props: { checked: !excluded, disabled: !excluded && !canExclude },
  });
  const reason = h('input.input.reason', { type: 'text', maxlength: '500', placeholder: 'reason', 'aria-label': `Why ${r.name} is excluded`, props: { value: excluded ? r.excluded : '' } });
  reason.hidden = !excluded;
  box.addEventListener('change', () => {
    reason.hidden = box.checked;
    setExcluded(r.image_id, box.checked ? null : reason.value.trim()).then(changed);
  });
  reason.addEventListener('change', () => {
    if (!box.checked) setExcluded(r.image_id, reason.value.trim()).then(changed);
  });
  return h('td.fit-cell', null, box, reason);
}

export function statCard(label, value, note, id) {
  return h('div.stat', { id: id ? `stat-${id}` : null }, h('div.stat-label', null, label), h('div.stat-value', null, value), h('div.stat-note.small.muted', null, note));
}

/**
 * The strain table of a measure.
 * @param {{rows: any[], refRow: any, measure: import('./analysis-model.js').MeasureColumns, perImage: any[] | null, pid: number, changed: () => void}} o
 */
export function strainTable({ rows, refRow, measure, perImage, pid, changed }) {
  const { hasTime, hasForce, hasStress } = optionalColumns(rows);
  const canExclude = rows.filter((r) => !isExcluded(r)).length > MIN_FITTED;
  const opt = (v, dec) => (Number.isFinite(v) ? fixed(v, dec) : '—');
  return h(
    'table.table.data',
    { id: 'strain-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Image'),
        h('th.num', { scope: 'col' }, 'd (mm)'),
        hasTime ? h('th.num', { scope: 'col', title: 'time of the frame in the film' }, 't (s)') : null,
        hasForce ? h('th.num', { scope: 'col', title: "the test machine's force at the frame's time, from its log" }, 'F (N)') : null,
        hasStress ? h('th.num', { scope: 'col', title: 'engineering stress: force / cross-section area' }, 'σ (MPa)') : null,
        h('th.num', { scope: 'col', title: 'millimetres per pixel at the markers under the scale method' }, 'mm/px'),
        measure.cols.map(([, , sym, s, unit]) => h('th.num', { scope: 'col' }, sym, s ? h('sub', null, s) : null, unit ? ' (°)' : '')),
        h('th.num', { scope: 'col', title: 'area ratio det F' }, 'J'),
        h('th.num', { scope: 'col', title: 'rigid rotation from the polar decomposition' }, 'rot. (°)'),
        h('th.num', { scope: 'col', title: 'RMS residual of the fit of F to the 4 edge vectors' }, 'resid. (mm)'),
        perImage ? h('th.num', { scope: 'col', title: "−ε lateral / ε axial for this image" }, 'ν') : null,
        h('th', { scope: 'col', title: 'Unticked: left out of the fits and Poisson\'s ratio, kept in the tables (with a reason)' }, 'In fit'),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((r, i) => {
        const m = r.measures ?? {};
        const u = r.uncertainty ?? {};
        const isRef = r === refRow;
        return h(
          'tr',
          { class: rowClass(r, isRef), dataset: { imageId: r.image_id ?? '' } },
          h('td.name-cell', null, h('span.name-wrap', null, r.image_id !== undefined && r.image_id !== null ? h('a', { href: `#/project/${pid}/image/${r.image_id}`, title: r.name }, r.name) : h('span', { title: r.name }, r.name), isRef ? h('span.ref-tag', { title: 'Reference image: strain is measured from this one' }, 'ref') : null)),
          h('td.num', null, mm(r.deformation)),
          hasTime ? h('td.num', null, opt(r.time_s, 3)) : null,
          hasForce ? h('td.num', null, opt(r.force_n, 1)) : null,
          hasStress ? h('td.num.stress', null, opt(r.stress_mpa, 3)) : null,
          h('td.num', null, Number.isFinite(r.mm_per_px) ? r.mm_per_px.toPrecision(4) : '—'),
          measure.cols.map(([grp, f, , , unit]) => {
            const v = m[grp]?.[f];
            const e = u[grp]?.[f];
            const dec = unit ? 2 : 4;
            return h('td.num.pm', { title: `${v} ± ${e}` }, h('span.pm-val', null, fixed(v, dec)), h('span.pm-err', null, `± ${fixed(e, dec)}`));
          }),
          h('td.num.pm', { title: `${m.j} ± ${u.j}` }, h('span.pm-val', null, fixed(m.j, 4)), h('span.pm-err', null, `± ${fixed(u.j, 4)}`)),
          h('td.num', null, fixed(m.rotation_deg, 2)),
          h('td.num', null, fixed(m.residual_mm, 3)),
          perImage ? h('td.num', null, perImage[i] === null ? '—' : fixed(perImage[i], 3)) : null,
          fitCell(r, changed, canExclude),
        );
      }),
    ),
  );
}

/** The table of the linear fits against the deformation distance. */
export function regressionTable(regs) {
  return h(
    'table.table.data',
    { id: 'regression-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Component'),
        h('th.num', { scope: 'col' }, 'n'),
        h('th.num', { scope: 'col' }, 'Slope (per mm)', h('span.th-sub', null, '± standard error')),
        h('th.num', { scope: 'col' }, 'Slope 95 % CI'),
        h('th.num', { scope: 'col' }, 'Intercept', h('span.th-sub', null, '± standard error')),
        h('th.num', { scope: 'col' }, 'r²'),
        h('th.num', { scope: 'col' }, 'p'),
      ),
    ),
    h(
      'tbody',
      null,
      regs.map((r) => {
        const g = r.regression ?? {};
        const ci = Array.isArray(g.slope_ci95) ? g.slope_ci95 : [null, null];
        return h(
          'tr',
          { dataset: { component: r.component } },
          h('th', { scope: 'row' }, h('span.comp-block', null, componentLabel(r.component), h('span.comp-name', null, component(r.component)?.description ?? ''))),
          h('td.num', null, String(g.n ?? '')),
          h('td.num.pm', { title: `${g.slope} ± ${g.stderr}` }, h('span.pm-val', null, sci(g.slope)), h('span.pm-err', null, `± ${sci(g.stderr, 3)}`)),
          h('td.num', { title: `[${ci[0]}, ${ci[1]}]` }, `[${sci(ci[0], 3)}, ${sci(ci[1], 3)}]`),
          h('td.num.pm', { title: `${g.intercept} ± ${g.intercept_stderr}` }, h('span.pm-val', null, sci(g.intercept)), h('span.pm-err', null, `± ${sci(g.intercept_stderr, 3)}`)),
          h('td.num', { title: String(g.r_squared) }, fixed(g.r_squared, 4)),
          h('td.num', { title: String(g.p_value) }, pValue(g.p_value)),
        );
      }),
    ),
  );
}

/** The notice of the images left out as incomplete (null when none). */
export function leftOutNotice(excluded, pid) {
  if (!excluded.length) return null;
  return h(
    'div.notice.info',
    null,
    icon('info'),
    h(
      'div',
      null,
      h('strong', null, `${plural(excluded.length, 'image')} left out of the analysis`),
      h(
        'ul.inline-list',
        null,
        leftOut(excluded, store.images).map(({ name, status, id }) =>
          h('li', null, id !== undefined && id !== null ? h('a', { href: `#/project/${pid}/image/${id}` }, name) : name, ' ', badge(status, '.tiny')),
        ),
      ),
    ),
  );
}

/**
 * The downloads card: results, report, data and plot files (`download(path, filename)`).
 * @param {number} pid
 * @param {any[]} regs
 * @param {(path: string, filename: string) => void} download
 */
export function downloadsCard(pid, regs, download) {
  const dl = (label, path, filename) =>
    h('button.btn.small', { type: 'button', dataset: { download: filename }, on: { click: () => download(path, filename) } }, icon('download'), label);
  const exports = rules().exports;
  /** The export files computed from the analysis (true) or holding the data (false). */
  const exportButtons = (fromAnalysis) => exports.files.filter((f) => f.from_analysis === fromAnalysis).map((f) => dl(f.name, urls.exportFile(pid, f.name), f.name));
  return h(
    'section.card.pad',
    { id: 'downloads' },
    h('h2', null, 'Downloads'),
    h(
      'div.download-grid',
      null,
      h('h3', null, 'Results'),
      h('div.btn-row', null, exportButtons(true)),
      h('h3', null, 'Report'),
      h('div.btn-row', null, exports.reports.map((f) => dl(`report.${f}`, `/projects/${pid}/report/${f}`, `report.${f}`))),
      h('h3', null, 'Data'),
      h('div.btn-row', null, exportButtons(false)),
      h('h3', null, 'Plots'),
      h(
        'div.btn-row',
        null,
        regs.flatMap((r) => exports.plot_formats.map((ext) => dl(`${r.component}.${ext}`, `/projects/${pid}/export/plot/${r.component}.${ext}`, `${r.component}.${ext}`))),
      ),
    ),
  );
}
