// @ts-check
// The analysis view: always recomputed by the server from the current data (fetched fresh
// every time it is shown and after every change of a project setting made here).
import { api, urls } from './api.js';
import { h, icon, replace } from './dom.js';
import { fixed, mm, plural, pValue, sci, sentence } from './format.js';
import { saveProject, store } from './state.js';
import { badge, toastError } from './ui.js';
import { strainPlot } from './plot.js';
import { budgetCard, focalField, methodLabel, scaleMethodField, targetField } from './scale.js';
import { component, rules } from './rules.js';

/** A component's symbol (letter, subscript) and optionally what it is, as GET /api/rules has it. */
export function componentLabel(key, withName = false) {
  const c = component(key);
  if (!c) return h('span', null, key);
  const [letter, sub] = c.symbol;
  return h('span.comp', null, letter, sub ? h('sub', null, sub) : null, withName ? h('span.comp-name', null, ` ${c.description}`) : null);
}

/** The strain measures (GET /api/rules) as table columns: [group, field, letter, subscript, angle]
 * where group and field locate the value in a row's `measures`. */
function measures() {
  return rules().measures.map((m) => ({
    id: m.key,
    label: m.label,
    components: m.components,
    cols: m.components.map((k) => {
      const c = component(k);
      return [...c.field, ...c.symbol, c.unit === '°'];
    }),
  }));
}

let measureChoice = 'small'; // kept while the page is open

/** Components to regress for a measure: always the default ones (small strain: Poisson's ratio,
 * the Python tool's exports), plus the chosen measure's. */
function componentsFor(measure) {
  const chosen = rules().measures.find((m) => m.key === measure)?.components ?? [];
  return [...new Set([...rules().default_components, ...chosen])];
}

/** The query of the results exports and the report: the components of the chosen measure, so
 * the files show what the analysis view shows. */
export function resultsQuery() {
  return `?components=${componentsFor(measureChoice).join(',')}`;
}

/** Exclude an image from the fits (reason: a string, may be empty) or include it (null). */
async function setExcluded(imageId, reason) {
  try {
    await api.patchImage(store.project.id, imageId, { excluded: reason });
  } catch (e) {
    toastError(e);
  }
}

export class AnalysisView {
  constructor(host, { workspace }) {
    this.host = host;
    this.ws = workspace;
    this.data = null;
    this.error = null;
    this.ctrl = null;
    this.stamp = Date.now();
  }

  mount() {
    this.el = h('div.page.analysis', { id: 'analysis' });
    this.host.replaceChildren(this.el);
    this.refresh();
  }

  unmount() {
    if (this.ctrl) this.ctrl.abort();
  }

  onStore(what) {
    // any change of the data (e.g. a scale length typed in the top bar) → recompute
    if (what === 'project' || what === 'image' || what === 'images') this.refreshSoon();
  }

  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 150);
  }

  async refresh() {
    if (this.ctrl) this.ctrl.abort();
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    this.el.classList.add('busy');
    if (!this.data && !this.error) replace(this.el, h('div.loading', null, h('span.spinner'), 'Computing…'));
    try {
      const data = await api.analysis(store.project.id, { components: componentsFor(measureChoice), signal: ctrl.signal });
      if (ctrl.signal.aborted) return;
      this.data = data;
      this.error = null;
      this.stamp = Date.now();
    } catch (e) {
      if (e.name === 'AbortError' || ctrl.signal.aborted) return;
      if (e.status >= 400 && e.status < 500) {
        this.error = e;
        this.data = null;
      } else {
        toastError(e);
        this.error = e;
        this.data = null;
      }
    } finally {
      if (this.ctrl === ctrl) {
        this.ctrl = null;
        this.el.classList.remove('busy');
      }
    }
    this.render();
  }

  render() {
    if (this.error) this.renderNotReady();
    else if (this.data) this.renderResults();
    this.el.dataset.state = this.error ? 'not-ready' : 'ready';
  }

  head(extra) {
    return h(
      'div.page-head.row',
      null,
      h('div', null, h('h1', null, 'Analysis'), extra),
      h('div.head-controls', null, this.referenceSelect(), this.sigmaField(), scaleMethodField(), focalField(), targetField()),
    );
  }

  referenceSelect() {
    const p = store.project;
    const sel = h('select.input', { id: 'reference-select', 'aria-describedby': 'reference-help' });
    sel.appendChild(h('option', { value: '' }, 'Automatic: smallest distance'));
    for (const im of store.images) {
      if (im.status !== 'Complete') continue;
      const d = im.deformation_distance;
      sel.appendChild(h('option', { value: String(im.id) }, `${im.filename} (${mm(d)} mm)`));
    }
    sel.value = p.reference_image === null || p.reference_image === undefined ? '' : String(p.reference_image);
    sel.addEventListener('change', async () => {
      const v = sel.value === '' ? null : Number(sel.value);
      try {
        await saveProject({ reference_image: v });
      } catch (e) {
        toastError(e);
      }
    });
    return h('label.inline-field', { title: 'Strain is measured from this image to every other one' }, h('span', null, 'Reference'), sel, h('span.sr-only', { id: 'reference-help' }, 'Strain is measured from the reference image to every other image.'));
  }

  sigmaField() {
    const input = h('input.input.num.narrow', { type: 'number', id: 'sigma-px', min: '0', step: '0.1', props: { value: mm(store.project.sigma_px ?? 1) } });
    input.addEventListener('change', async () => {
      const v = input.valueAsNumber;
      if (!Number.isFinite(v) || v < 0) {
        input.setAttribute('aria-invalid', 'true');
        return;
      }
      input.removeAttribute('aria-invalid');
      try {
        await saveProject({ sigma_px: v });
      } catch (e) {
        toastError(e);
      }
    });
    return h('label.inline-field', { title: 'Standard uncertainty of one placed point, in pixels; gives the ± values' }, h('span', null, 'Point σ'), input, h('span.unit', null, 'px'));
  }

  renderNotReady() {
    const e = this.error;
    const pid = store.project.id;
    const incomplete = Array.isArray(e.body?.incomplete) ? e.body.incomplete : [];
    const c = store.counts();
    const list = imageCard('Images that need work', 'incomplete-list', incomplete, (it) => [
      h('a', { href: `#/project/${pid}/image/${it.image_id}` }, icon('target'), h('span', null, it.filename ?? store.image(it.image_id)?.filename ?? `image ${it.image_id}`)),
      badge(it.status),
      h('span.small.muted', null, whatIsMissing(store.image(it.image_id), it.status)),
    ]);
    const userExcluded = Array.isArray(e.body?.excluded) ? e.body.excluded : [];
    const excludedCard = imageCard('Excluded from the fits', 'excluded-list', userExcluded, (it) => [
      h('span', null, it.filename ?? `image ${it.image_id}`),
      h('span.small.muted', null, it.reason ? `excluded: ${it.reason}` : 'excluded'),
      h('button.btn.small', { type: 'button', dataset: { imageId: it.image_id }, on: { click: () => setExcluded(it.image_id, null).then(() => this.refresh()) } }, 'Put back in the fits'),
    ]);
    replace(
      this.el,
      h(
        'div.page-inner',
        null,
        this.head(null),
        h(
          'div.notice.warn',
          { role: 'status', id: 'analysis-reason' },
          icon('alert'),
          h(
            'div',
            null,
            h('strong', null, 'The analysis cannot be computed yet'),
            h('p', null, sentence(e.message)),
            Number.isInteger(e.body?.image_id) && store.image(e.body.image_id)
              ? h('p', null, h('a', { href: `#/project/${pid}/image/${e.body.image_id}`, id: 'analysis-problem-image' }, icon('target'), ` Open “${store.image(e.body.image_id).filename}” to fix it`))
              : null,
            c.Complete < 3 ? h('p.small.muted', null, `${c.Complete} of ${store.images.length} images complete; at least 3 complete images with different distances are needed.`) : null,
          ),
        ),
        excludedCard,
        list,
      ),
    );
  }

  renderResults() {
    const d = this.data;
    const pid = store.project.id;
    const rows = Array.isArray(d.rows) ? d.rows : [];
    const fitted = rows.filter((r) => typeof r.excluded !== 'string').length;
    const regs = Array.isArray(d.regressions) ? d.regressions : [];
    const reg = (k) => regs.find((r) => r.component === k)?.regression;
    const refRow = rows.find((r) => r.image_id === d.reference_image_id) ?? rows.find((r) => r.index === d.reference) ?? null;

    const sub = h(
      'p.muted',
      null,
      `${plural(rows.length, 'image')} · reference `,
      h('strong', null, d.reference_name ?? refRow?.name ?? '—'),
      refRow ? ` (${mm(refRow.deformation)} mm)` : '',
      ` · scale: `,
      h('strong', { id: 'scale-method-used' }, methodLabel(d.scale_method)),
      store.project.scale_method ? '' : ' (automatic)',
      d.scale_method === 'span' ? ` · scale length ${mm(d.scale_length ?? store.project.scale_length)} mm` : '',
    );

    // summary cards
    const cards = [];
    for (const k of ['eps_xx', 'eps_yy']) {
      const r = reg(k);
      if (r) cards.push(statCard(h('span', null, 'Slope of ', componentLabel(k)), [sci(r.slope), h('span.unit', null, 'per mm')], `r² = ${fixed(r.r_squared, 4)} · p = ${pValue(r.p_value)}`));
    }
    const po = d.poisson;
    if (po && Number.isFinite(po.from_slopes)) {
      cards.push(statCard("Poisson's ratio ν", `${fixed(po.from_slopes, 3)} ± ${fixed(po.from_slopes_stderr, 3)}`, `from the slopes · loading along ${String(po.loading_axis).toUpperCase()}${po.auto_axis ? ' (largest strain change)' : ''}`, 'poisson'));
    } else {
      cards.push(statCard("Poisson's ratio ν", '—', 'undefined: the axial strain does not change', 'poisson'));
    }
    const excluded = Array.isArray(d.excluded) ? d.excluded : [];
    const userExcluded = rows.filter((r) => typeof r.excluded === 'string').length;
    const notes = [excluded.length ? `${excluded.length} left out (incomplete)` : 'all images complete'];
    if (userExcluded) notes.push(`${userExcluded} excluded from the fits`);
    cards.push(statCard('Images analysed', String(rows.length), notes.join(' · ')));

    // plots (drawn here from this analysis; the server's SVG/PNG files are in Downloads)
    const plots = regs.map((r) => {
      const k = r.component;
      const c = component(k);
      const label = c ? c.symbol.join('') : k;
      return h(
        'figure.plot-card',
        { dataset: { component: k } },
        strainPlot({ rows, key: k, reg: r.regression, label, refId: d.reference_image_id }),
        h(
          'figcaption',
          null,
          h('span', null, componentLabel(k, true)),
          h('span.fit-eq', null, `slope ${sci(r.regression.slope)} /mm · r² ${fixed(r.regression.r_squared, 4)}`),
        ),
      );
    });

    // strain table
    const all = measures();
    const measure = all.find((m) => m.id === measureChoice) ?? all[0];
    const measureSel = h('select.input', { id: 'measure-select', 'aria-label': 'Strain measure' }, all.map((m) => h('option', { value: m.id }, m.label)));
    measureSel.value = measure.id;
    measureSel.addEventListener('change', () => {
      measureChoice = measureSel.value;
      this.render();
      this.refresh(); // the regressions and plots follow the measure
    });
    const perImage = po && Array.isArray(po.per_image) && po.per_image.length === rows.length ? po.per_image : null;
    // Frames of a film carry their time and the test machine's force (from its log).
    const hasTime = rows.some((r) => Number.isFinite(r.time_s));
    const hasForce = rows.some((r) => Number.isFinite(r.force_n));
    const opt = (v, dec) => (Number.isFinite(v) ? fixed(v, dec) : '—');
    const strainTable = h(
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
          const cls = [isRef ? 'ref' : null, typeof r.excluded === 'string' ? 'excluded' : null].filter(Boolean).join(' ');
          return h(
            'tr',
            { class: cls || null, dataset: { imageId: r.image_id ?? '' } },
            h('td.name-cell', null, h('span.name-wrap', null, r.image_id !== undefined && r.image_id !== null ? h('a', { href: `#/project/${pid}/image/${r.image_id}`, title: r.name }, r.name) : h('span', { title: r.name }, r.name), isRef ? h('span.ref-tag', { title: 'Reference image: strain is measured from this one' }, 'ref') : null)),
            h('td.num', null, mm(r.deformation)),
            hasTime ? h('td.num', null, opt(r.time_s, 3)) : null,
            hasForce ? h('td.num', null, opt(r.force_n, 1)) : null,
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
            fitCell(r, () => this.refresh(), fitted > MIN_FITTED),
          );
        }),
      ),
    );

    // regression table
    const regTable = h(
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

    const excludedList = excluded.length
      ? h(
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
              excluded.map((x) => {
                const name = Array.isArray(x) ? x[0] : x.filename;
                const status = Array.isArray(x) ? x[1] : x.status;
                const id = Array.isArray(x) ? store.images.find((im) => im.filename === name)?.id : x.image_id;
                return h('li', null, id !== undefined && id !== null ? h('a', { href: `#/project/${pid}/image/${id}` }, name) : name, ' ', badge(status, '.tiny'));
              }),
            ),
          ),
        )
      : null;

    // downloads
    const dl = (label, path, filename) =>
      h('button.btn.small', { type: 'button', dataset: { download: filename }, on: { click: () => this.ws.download(path, filename) } }, icon('download'), label);
    const exports = rules().exports;
    /** The export files computed from the analysis (true) or holding the data (false). */
    const exportButtons = (fromAnalysis) => exports.files.filter((f) => f.from_analysis === fromAnalysis).map((f) => dl(f.name, urls.exportFile(pid, f.name), f.name));
    const downloads = h(
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

    replace(
      this.el,
      h(
        'div.page-inner.wide',
        null,
        this.head(sub),
        h(
          'div.btn-row.report-row',
          null,
          h('button.btn.primary', { type: 'button', id: 'report-html', title: 'Lab report: one self-contained HTML page (prints to clean pages)', on: { click: () => this.ws.download(`/projects/${pid}/report/html`, 'report.html') } }, icon('download'), 'Report (HTML)'),
          exports.reports.includes('pdf') && h('button.btn', { type: 'button', id: 'report-pdf', title: 'Lab report as PDF', on: { click: () => this.ws.download(`/projects/${pid}/report/pdf`, 'report.pdf') } }, icon('download'), 'Report (PDF)'),
        ),
        excludedList,
        h('div.stat-row', null, cards),
        h('section.plots', { 'aria-label': 'Plots' }, plots),
        h(
          'section.card',
          null,
          h('div.card-head', null, h('h2', null, 'Strain per image'), h('span.muted.small', null, '± one combined standard uncertainty (budget below)'), h('div.grow'), h('label.inline-field', null, h('span', null, 'Measure'), measureSel)),
          h('div.table-scroll', null, strainTable),
        ),
        h(
          'section.card',
          null,
          h('div.card-head', null, h('h2', null, 'Linear fit against deformation distance'), h('span.muted.small', null, 'ordinary least squares, y = intercept + slope · d')),
          h('div.table-scroll', null, regTable),
        ),
        budgetCard(rows, pid),
        downloads,
      ),
    );
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
function imageCard(title, id, items, parts) {
  if (!items.length) return null;
  return h(
    'section.card',
    null,
    h('div.card-head', null, h('h2', null, title), h('span.muted', null, plural(items.length, 'image'))),
    h('ul.fix-list', { id }, items.map((it) => h('li', null, ...parts(it)))),
  );
}

/** The fits need this many images (the server's rule: a line with a p-value needs 3 points). */
const MIN_FITTED = 3;

/**
 * The "In fit" cell: a tick box and, when unticked, the reason. `canExclude` false keeps the
 * last MIN_FITTED images in (their box cannot be unticked, and says why).
 */
function fitCell(r, changed, canExclude = true) {
  if (r.image_id === undefined || r.image_id === null) return h('td', null, '');
  const excluded = typeof r.excluded === 'string';
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

function statCard(label, value, note, id) {
  return h('div.stat', { id: id ? `stat-${id}` : null }, h('div.stat-label', null, label), h('div.stat-value', null, value), h('div.stat-note.small.muted', null, note));
}

function whatIsMissing(im, status) {
  if (!im) return '';
  const f = Array.isArray(im.fiducials) ? im.fiducials.length : 0;
  const s = Array.isArray(im.scale) ? im.scale.length : 0;
  const parts = [];
  if (f < 5) parts.push(`${5 - f} marker${5 - f === 1 ? '' : 's'}`);
  if (s < 2) parts.push(`${2 - s} scale point${2 - s === 1 ? '' : 's'}`);
  if (im.deformation_distance === null || im.deformation_distance === undefined) parts.push('distance');
  return parts.length ? `missing: ${parts.join(', ')}` : status === 'Complete' ? '' : '';
}
