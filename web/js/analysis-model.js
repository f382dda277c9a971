// @ts-check
// The analysis view's logic without the DOM (analysis.js and analysis-tables.js draw it): the
// strain measures as table columns, the components to ask the server for, the reference row,
// the images left out, the summary notes and Poisson's ratio card, what an incomplete image
// lacks. `rules` is GET /api/rules' answer. Unit-tested in e2e/unit/analysis-model.test.mjs.

/** The fits need this many images (the server's rule: a line with a p-value needs 3 points). */
export const MIN_FITTED = 3;

/**
 * @typedef {object} MeasureColumns
 * @property {string} id
 * @property {string} label
 * @property {string[]} components
 * @property {Array<[string, string, string, string, boolean]>} cols  [group, field, letter,
 *   subscript, angle] where group and field locate the value in a row's `measures`
 */

/**
 * The strain measures as table columns.
 * @param {any} rules
 * @returns {MeasureColumns[]}
 */
export function measureColumns(rules) {
  return rules.measures.map((m) => ({
    id: m.key,
    label: m.label,
    components: m.components,
    cols: m.components.map((k) => {
      const c = rules.components.find((x) => x.key === k);
      return /** @type {[string, string, string, string, boolean]} */ ([...c.field, ...c.symbol, c.unit === '°']);
    }),
  }));
}

/**
 * Components to regress for a measure: always the default ones (small strain: Poisson's ratio,
 * the Python tool's exports), plus the chosen measure's, without repeats.
 * @param {any} rules
 * @param {string} measure
 * @returns {string[]}
 */
export function componentsFor(rules, measure) {
  const chosen = rules.measures.find((m) => m.key === measure)?.components ?? [];
  return [...new Set([...rules.default_components, ...chosen])];
}

/**
 * The query of the results exports and the report for a measure.
 * @param {any} rules
 * @param {string} measure
 */
export function resultsQueryFor(rules, measure) {
  return `?components=${componentsFor(rules, measure).join(',')}`;
}

/**
 * The reference row: by image id, else by index (older answers), else null.
 * @param {any} d  the analysis
 * @param {any[]} rows
 */
export function referenceRow(d, rows) {
  return rows.find((r) => r.image_id === d.reference_image_id) ?? rows.find((r) => r.index === d.reference) ?? null;
}

/** Whether the user excluded a row from the fits (its `excluded` is the reason, maybe ''). */
export function isExcluded(r) {
  return typeof r.excluded === 'string';
}

/**
 * Which optional columns the rows need: the frames of a film carry their time and the test
 * machine's force (from its log), and with a cross-section area their stress.
 * @param {any[]} rows
 */
export function optionalColumns(rows) {
  return {
    hasTime: rows.some((r) => Number.isFinite(r.time_s)),
    hasForce: rows.some((r) => Number.isFinite(r.force_n)),
    hasStress: rows.some((r) => Number.isFinite(r.stress_mpa)),
  };
}

/** The class of a strain-table row: reference and/or excluded. */
export function rowClass(r, isRef) {
  return [isRef ? 'ref' : null, isExcluded(r) ? 'excluded' : null].filter(Boolean).join(' ') || null;
}

/**
 * The images left out as incomplete, whichever shape the server sends (`[name, status]` pairs
 * or objects), with their id when known.
 * @param {any[]} excluded
 * @param {Array<{id: number, filename: string}>} images
 * @returns {Array<{name: string, status: string, id: number | undefined}>}
 */
export function leftOut(excluded, images) {
  return excluded.map((x) => {
    if (Array.isArray(x)) return { name: x[0], status: x[1], id: images.find((im) => im.filename === x[0])?.id };
    return { name: x.filename, status: x.status, id: x.image_id ?? undefined };
  });
}

/**
 * The note of the "Images analysed" card.
 * @param {number} incomplete  images left out as incomplete
 * @param {number} userExcluded  images the user excluded from the fits
 */
export function analysedNote(incomplete, userExcluded) {
  const notes = [incomplete ? `${incomplete} left out (incomplete)` : 'all images complete'];
  if (userExcluded) notes.push(`${userExcluded} excluded from the fits`);
  return notes.join(' · ');
}

/**
 * Poisson's ratio card: value and note (`fmt(x, decimals)` formats a number).
 * @param {any} po  the analysis' `poisson`
 * @param {(x: number, decimals: number) => string} fmt
 */
export function poissonSummary(po, fmt) {
  if (po && Number.isFinite(po.from_slopes)) {
    return {
      value: `${fmt(po.from_slopes, 3)} ± ${fmt(po.from_slopes_stderr, 3)}`,
      note: `from the slopes · loading along ${String(po.loading_axis).toUpperCase()}${po.auto_axis ? ' (largest strain change)' : ''}`,
    };
  }
  return { value: '—', note: 'undefined: the axial strain does not change' };
}

/** Poisson's ratio per image when the server gives one per row, else null. */
export function perImagePoisson(po, nRows) {
  return po && Array.isArray(po.per_image) && po.per_image.length === nRows ? po.per_image : null;
}

/**
 * What an incomplete image still lacks, e.g. "missing: 2 markers, distance" ('' when nothing).
 * @param {any} im
 */
export function whatIsMissing(im) {
  if (!im) return '';
  const f = Array.isArray(im.fiducials) ? im.fiducials.length : 0;
  const s = Array.isArray(im.scale) ? im.scale.length : 0;
  const parts = [];
  if (f < 5) parts.push(`${5 - f} marker${5 - f === 1 ? '' : 's'}`);
  if (s < 2) parts.push(`${2 - s} scale point${2 - s === 1 ? '' : 's'}`);
  if (im.deformation_distance === null || im.deformation_distance === undefined) parts.push('distance');
  return parts.length ? `missing: ${parts.join(', ')}` : '';
}

// ----- stress (a cross-section area with the test machine's force) -----

/** Whether the analysis offers the cross-section area: some row has a force. */
export function hasForce(rows) {
  return rows.some((r) => Number.isFinite(r.force_n));
}

/**
 * The cross-section area as typed: `{value}` (null when empty) or `{error}` (the server takes a
 * finite number > 0, or null). A decimal comma is read as a point.
 * @param {string} text
 * @returns {{value: number | null, error?: undefined} | {error: string, value?: undefined}}
 */
export function parseArea(text) {
  const t = String(text ?? '').trim().replace(',', '.');
  if (!t) return { value: null };
  const v = Number(t);
  if (!Number.isFinite(v) || v <= 0) return { error: 'The cross-section area must be a positive number of mm².' };
  return { value: v };
}

/**
 * The points of the strain–stress plot: x the loading-axis small strain of `component` (eps_xx
 * or eps_yy, in `measures.small`), y the stress (MPa), rows without either left out.
 * @param {any[]} rows
 * @param {string} component
 * @param {number | null | undefined} refId
 */
export function stressPoints(rows, component, refId) {
  const field = component === 'eps_xx' ? 'xx' : 'yy';
  return rows
    .map((r) => ({
      x: r.measures?.small?.[field],
      y: r.stress_mpa,
      e: NaN,
      ref: r.image_id === refId,
      name: String(r.name ?? ''),
      excluded: isExcluded(r),
    }))
    .filter((p) => isNum(p.x) && isNum(p.y));
}

function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * The line of the strain–stress fit (`stress = intercept + modulus · strain`), or null.
 * @param {any} ss  the analysis' `stress_strain`
 */
export function stressFit(ss) {
  if (!ss || !Number.isFinite(ss.modulus_mpa) || !Number.isFinite(ss.intercept_mpa)) return null;
  return { slope: ss.modulus_mpa, intercept: ss.intercept_mpa };
}

/**
 * "E = 2.000 × 10⁵ ± 1.500 × 10³ MPa, r² = 0.9990" (`sci`, `fixed` from format.js).
 * @param {any} ss
 * @param {(x: number, digits?: number) => string} sci
 * @param {(x: number, decimals?: number) => string} fixed
 */
export function modulusText(ss, sci, fixed) {
  if (!ss || !Number.isFinite(ss.modulus_mpa)) return 'E: not enough points with a stress for a fit';
  const err = Number.isFinite(ss.modulus_stderr) ? ` ± ${sci(ss.modulus_stderr, 3)}` : '';
  const r2 = Number.isFinite(ss.r2) ? `, r² = ${fixed(ss.r2, 4)}` : '';
  return `E = ${sci(ss.modulus_mpa)}${err} MPa${r2}`;
}
