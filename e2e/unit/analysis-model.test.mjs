// Unit tests of the analysis view's pure logic (web/js/analysis-model.js): `node --test e2e/unit`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analysedNote, componentsFor, isExcluded, leftOut, measureColumns, optionalColumns, perImagePoisson, poissonSummary, referenceRow, resultsQueryFor, rowClass, whatIsMissing } from '../../web/js/analysis-model.js';

// a slice of GET /api/rules
const RULES = {
  default_components: ['eps_xx', 'eps_yy', 'eps_xy'],
  components: [
    { key: 'eps_xx', symbol: ['ε', 'xx'], field: ['small', 'xx'], unit: '' },
    { key: 'eps_yy', symbol: ['ε', 'yy'], field: ['small', 'yy'], unit: '' },
    { key: 'eps_xy', symbol: ['ε', 'xy'], field: ['small', 'xy'], unit: '' },
    { key: 'exx', symbol: ['E', 'xx'], field: ['green', 'xx'], unit: '' },
    { key: 'eps_angle', symbol: ['θ', ''], field: ['small_principal', 'angle_deg'], unit: '°' },
  ],
  measures: [
    { key: 'small', label: 'Small strain ε', components: ['eps_xx', 'eps_yy', 'eps_xy'] },
    { key: 'green', label: 'Green–Lagrange E', components: ['exx'] },
    { key: 'small_principal', label: 'Principal', components: ['eps_angle'] },
  ],
};

test('measures become columns: where the value is, its symbol, whether it is an angle', () => {
  const cols = measureColumns(RULES);
  assert.deepEqual(cols.map((m) => m.id), ['small', 'green', 'small_principal']);
  assert.deepEqual(cols[0].cols[1], ['small', 'yy', 'ε', 'yy', false]);
  assert.deepEqual(cols[2].cols, [['small_principal', 'angle_deg', 'θ', '', true]]);
  assert.equal(cols[1].label, 'Green–Lagrange E');
});

test('the components asked for: the defaults, then the measure’s, without repeats', () => {
  assert.deepEqual(componentsFor(RULES, 'small'), ['eps_xx', 'eps_yy', 'eps_xy']);
  assert.deepEqual(componentsFor(RULES, 'green'), ['eps_xx', 'eps_yy', 'eps_xy', 'exx']);
  assert.deepEqual(componentsFor(RULES, 'unknown'), ['eps_xx', 'eps_yy', 'eps_xy']);
  assert.equal(resultsQueryFor(RULES, 'green'), '?components=eps_xx,eps_yy,eps_xy,exx');
});

test('the reference row by image id, else by index, else none', () => {
  const rows = [{ image_id: 4, index: 0 }, { image_id: 9, index: 1 }];
  assert.equal(referenceRow({ reference_image_id: 9 }, rows), rows[1]);
  assert.equal(referenceRow({ reference: 0 }, rows), rows[0]);
  assert.equal(referenceRow({ reference_image_id: 5, reference: 7 }, rows), null);
});

test('excluded rows carry a reason string, possibly empty', () => {
  assert.equal(isExcluded({ excluded: '' }), true);
  assert.equal(isExcluded({ excluded: 'blurred' }), true);
  assert.equal(isExcluded({ excluded: null }), false);
  assert.equal(isExcluded({}), false);
  assert.equal(rowClass({ excluded: 'x' }, true), 'ref excluded');
  assert.equal(rowClass({}, true), 'ref');
  assert.equal(rowClass({ excluded: '' }, false), 'excluded');
  assert.equal(rowClass({}, false), null);
});

test('optional columns appear when any row has a finite value', () => {
  assert.deepEqual(optionalColumns([{}, { time_s: 0 }]), { hasTime: true, hasForce: false, hasStress: false });
  assert.deepEqual(optionalColumns([{ force_n: null, stress_mpa: NaN }]), { hasTime: false, hasForce: false, hasStress: false });
  assert.deepEqual(optionalColumns([{ force_n: 10, stress_mpa: 2.5 }]), { hasTime: false, hasForce: true, hasStress: true });
  assert.deepEqual(optionalColumns([]), { hasTime: false, hasForce: false, hasStress: false });
});

test('images left out: pairs and objects, with their ids', () => {
  const images = [{ id: 3, filename: 'a.png' }];
  assert.deepEqual(leftOut([['a.png', 'Missing'], ['zz.png', 'Incomplete'], { filename: 'b.png', status: 'Missing', image_id: 8 }], images), [
    { name: 'a.png', status: 'Missing', id: 3 },
    { name: 'zz.png', status: 'Incomplete', id: undefined },
    { name: 'b.png', status: 'Missing', id: 8 },
  ]);
});

test('the analysed card’s note', () => {
  assert.equal(analysedNote(0, 0), 'all images complete');
  assert.equal(analysedNote(2, 0), '2 left out (incomplete)');
  assert.equal(analysedNote(0, 1), 'all images complete · 1 excluded from the fits');
  assert.equal(analysedNote(1, 3), '1 left out (incomplete) · 3 excluded from the fits');
});

test('Poisson’s ratio: value ± error and axis, or why it is undefined', () => {
  const fmt = (x, d) => x.toFixed(d);
  assert.deepEqual(poissonSummary({ from_slopes: 0.3123, from_slopes_stderr: 0.0211, loading_axis: 'y', auto_axis: true }, fmt), {
    value: '0.312 ± 0.021',
    note: 'from the slopes · loading along Y (largest strain change)',
  });
  assert.equal(poissonSummary({ from_slopes: 0.5, from_slopes_stderr: 0, loading_axis: 'x' }, fmt).note, 'from the slopes · loading along X');
  assert.deepEqual(poissonSummary({ from_slopes: null }, fmt), { value: '—', note: 'undefined: the axial strain does not change' });
  assert.deepEqual(poissonSummary(undefined, fmt).value, '—');
  assert.deepEqual(perImagePoisson({ per_image: [null, 0.3] }, 2), [null, 0.3]);
  assert.equal(perImagePoisson({ per_image: [0.3] }, 2), null);
  assert.equal(perImagePoisson(null, 2), null);
});

test('what an incomplete image lacks', () => {
  assert.equal(whatIsMissing(undefined), '');
  assert.equal(whatIsMissing({ fiducials: [], scale: [], deformation_distance: null }), 'missing: 5 markers, 2 scale points, distance');
  assert.equal(whatIsMissing({ fiducials: [1, 2, 3, 4], scale: [1], deformation_distance: 0 }), 'missing: 1 marker, 1 scale point');
  assert.equal(whatIsMissing({ fiducials: [1, 2, 3, 4, 5], scale: [1, 2], deformation_distance: 3 }), '');
});

test('the cross-section area is offered when a row has a force', async () => {
  const { hasForce } = await import('../../web/js/analysis-model.js');
  assert.equal(hasForce([{}, { force_n: 0 }]), true);
  assert.equal(hasForce([{ force_n: null }, {}]), false);
  assert.equal(hasForce([]), false);
});

test('the area as typed: empty is none, a positive number (decimal comma too), else why not', async () => {
  const { parseArea } = await import('../../web/js/analysis-model.js');
  assert.deepEqual(parseArea(''), { value: null });
  assert.deepEqual(parseArea('  '), { value: null });
  assert.deepEqual(parseArea('12.5'), { value: 12.5 });
  assert.deepEqual(parseArea(' 12,5 '), { value: 12.5 });
  assert.deepEqual(parseArea('1e2'), { value: 100 });
  for (const bad of ['0', '-3', 'abc', 'Infinity', '1,2,3']) assert.match(parseArea(bad).error ?? '', /positive number of mm²/, bad);
});

test('strain–stress points: the loading axis’ small strain against the stress, rows without either left out', async () => {
  const { stressPoints } = await import('../../web/js/analysis-model.js');
  const rows = [
    { image_id: 1, name: 'a', measures: { small: { xx: -0.001, yy: 0 } }, stress_mpa: 0 },
    { image_id: 2, name: 'b', measures: { small: { xx: -0.002, yy: 0.01 } }, stress_mpa: 2.5, excluded: 'blurred' },
    { image_id: 3, name: 'c', measures: { small: { xx: -0.003, yy: 0.02 } }, stress_mpa: null },
    { image_id: 4, name: 'd', measures: { small: { xx: -0.004 } }, stress_mpa: 7 },
    { image_id: 5, name: 'e', stress_mpa: 9 },
  ];
  assert.deepEqual(
    stressPoints(rows, 'eps_yy', 1).map((p) => [p.name, p.x, p.y, p.ref, p.excluded]),
    [['a', 0, 0, true, false], ['b', 0.01, 2.5, false, true]],
  );
  assert.deepEqual(stressPoints(rows, 'eps_xx', null).map((p) => [p.name, p.x]), [['a', -0.001], ['b', -0.002], ['d', -0.004]]);
  assert.ok(stressPoints(rows, 'eps_yy', 1).every((p) => Number.isNaN(p.e)), 'no error bars');
});

test('the modulus: the fitted line and its label', async () => {
  const { stressFit, modulusText } = await import('../../web/js/analysis-model.js');
  const { fixed, sci } = await import('../../web/js/format.js');
  const ss = { component: 'eps_yy', modulus_mpa: 250, modulus_stderr: 12.5, intercept_mpa: -0.5, r2: 0.99876, n: 4 };
  assert.deepEqual(stressFit(ss), { slope: 250, intercept: -0.5 });
  assert.equal(stressFit(null), null);
  assert.equal(stressFit({ modulus_mpa: 1, intercept_mpa: null }), null);
  assert.equal(modulusText(ss, sci, fixed), 'E = 250.0 ± 12.5 MPa, r² = 0.9988');
  assert.equal(modulusText({ ...ss, modulus_mpa: 210000, modulus_stderr: 1500 }, sci, fixed), 'E = 2.100 × 10⁵ ± 1.50 × 10³ MPa, r² = 0.9988');
  assert.equal(modulusText({ modulus_mpa: 5 }, sci, fixed), 'E = 5.000 MPa');
  assert.equal(modulusText(null, sci, fixed), 'E: not enough points with a stress for a fit');
});
