// @ts-check
// The analysis view: always recomputed by the server from the current data (fetched fresh
// every time it is shown and after every change of a project setting made here).
import { api } from './api.js';
import { h, icon, replace } from './dom.js';
import { fixed, mm, plural, pValue, sci, sentence } from './format.js';
import { saveProject, store } from './state.js';
import { badge, toastError } from './ui.js';
import { strainPlot } from './plot.js';
import { budgetCard, focalField, methodLabel, scaleMethodField, targetField } from './scale.js';
import { component, rules } from './rules.js';
import { analysedNote, componentsFor, hasForce, isExcluded, measureColumns, perImagePoisson, poissonSummary, referenceRow, resultsQueryFor, whatIsMissing } from './analysis-model.js';
import { componentLabel, downloadsCard, imageCard, leftOutNotice, regressionTable, setExcluded, statCard, strainTable } from './analysis-tables.js';
import { areaField, stressPlotCard } from './analysis-stress.js';

let measureChoice = 'small'; // kept while the page is open

/** The query of the results exports and the report: the components of the chosen measure, so
 * the files show what the analysis view shows. */
export function resultsQuery() {
  return resultsQueryFor(rules(), measureChoice);
}

export class AnalysisView {
  constructor(host, { workspace }) {
    this.host = host;
    this.ws = workspace;
    this.data = null;
    this.error = null;
    this.ctrl = null;
    this.stamp = Date.now();
    /** @type {ReturnType<typeof areaField> | null} the cross-section area (rows with a force) */
    this.area = null;
    this.unmounted = false;
  }

  mount() {
    this.el = h('div.page.analysis', { id: 'analysis' });
    this.host.replaceChildren(this.el);
    this.refresh();
  }

  unmount() {
    // A refresh still waiting (a store change just before leaving) would fetch the analysis of
    // whatever project the store holds by then: the next one opened (a 422 for an empty one).
    this.unmounted = true;
    clearTimeout(this.timer);
    this.area?.flush();
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
    if (this.unmounted) return;
    if (this.ctrl) this.ctrl.abort();
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    this.el.classList.add('busy');
    if (!this.data && !this.error) replace(this.el, h('div.loading', null, h('span.spinner'), 'Computing…'));
    try {
      const data = await api.analysis(store.project.id, { components: componentsFor(rules(), measureChoice), signal: ctrl.signal });
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
    // the area field is one element across redraws: typing in it goes on after a save
    const typing = this.area && document.activeElement === this.area.input;
    const caret = typing ? this.area.input.selectionStart : null;
    if (this.error) this.renderNotReady();
    else if (this.data) this.renderResults();
    if (typing && this.area.input.isConnected) {
      this.area.input.focus();
      if (caret !== null) this.area.input.setSelectionRange(caret, caret);
    }
    this.el.dataset.state = this.error ? 'not-ready' : 'ready';
  }

  /** The title and the settings; `withArea` adds the cross-section area (rows with a force). */
  head(extra, withArea = false) {
    if (withArea && !this.area) this.area = areaField();
    if (withArea) this.area.sync();
    return h(
      'div.page-head.row',
      null,
      h('div', null, h('h1', null, 'Analysis'), extra),
      h('div.head-controls', null, this.referenceSelect(), this.sigmaField(), scaleMethodField(), focalField(), targetField(), withArea ? this.area.el : null),
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
      h('span.small.muted', null, whatIsMissing(store.image(it.image_id))),
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
    const regs = Array.isArray(d.regressions) ? d.regressions : [];
    const reg = (k) => regs.find((r) => r.component === k)?.regression;
    const refRow = referenceRow(d, rows);

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
    const ps = poissonSummary(po, fixed);
    cards.push(statCard("Poisson's ratio ν", ps.value, ps.note, 'poisson'));
    const excluded = Array.isArray(d.excluded) ? d.excluded : [];
    cards.push(statCard('Images analysed', String(rows.length), analysedNote(excluded.length, rows.filter(isExcluded).length)));

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

    // the strain–stress plot, beside the plot of the strain it is fitted against
    const stressCard = stressPlotCard(d, rows);
    if (stressCard) {
      const axis = d.stress_strain?.component === 'eps_xx' ? 'eps_xx' : 'eps_yy';
      const at = regs.findIndex((r) => r.component === axis);
      plots.splice(at >= 0 ? at + 1 : plots.length, 0, stressCard);
    }

    // strain table
    const all = measureColumns(rules());
    const measure = all.find((m) => m.id === measureChoice) ?? all[0];
    const measureSel = h('select.input', { id: 'measure-select', 'aria-label': 'Strain measure' }, all.map((m) => h('option', { value: m.id }, m.label)));
    measureSel.value = measure.id;
    measureSel.addEventListener('change', () => {
      measureChoice = measureSel.value;
      this.render();
      this.refresh(); // the regressions and plots follow the measure
    });
    const table = strainTable({ rows, refRow, measure, perImage: perImagePoisson(po, rows.length), pid, changed: () => this.refresh() });
    const exports = rules().exports;
    const download = (path, filename) => this.ws.download(path, filename);

    replace(
      this.el,
      h(
        'div.page-inner.wide',
        null,
        this.head(sub, hasForce(rows)),
        h(
          'div.btn-row.report-row',
          null,
          h('button.btn.primary', { type: 'button', id: 'report-html', title: 'Lab report: one self-contained HTML page (prints to clean pages)', on: { click: () => download(`/projects/${pid}/report/html`, 'report.html') } }, icon('download'), 'Report (HTML)'),
          exports.reports.includes('pdf') && h('button.btn', { type: 'button', id: 'report-pdf', title: 'Lab report as PDF', on: { click: () => download(`/projects/${pid}/report/pdf`, 'report.pdf') } }, icon('download'), 'Report (PDF)'),
        ),
        leftOutNotice(excluded, pid),
        h('div.stat-row', null, cards),
        h('section.plots', { 'aria-label': 'Plots' }, plots),
        h(
          'section.card',
          null,
          h('div.card-head', null, h('h2', null, 'Strain per image'), h('span.muted.small', null, '± one combined standard uncertainty (budget below)'), h('div.grow'), h('label.inline-field', null, h('span', null, 'Measure'), measureSel)),
          h('div.table-scroll', null, table),
        ),
        h(
          'section.card',
          null,
          h('div.card-head', null, h('h2', null, 'Linear fit against deformation distance'), h('span.muted.small', null, 'ordinary least squares, y = intercept + slope · d')),
          h('div.table-scroll', null, regressionTable(regs)),
        ),
        budgetCard(rows, pid),
        downloadsCard(pid, regs, download),
      ),
    );
  }
}
