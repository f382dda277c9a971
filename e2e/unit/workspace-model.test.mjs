// Unit tests of the workspace's pure logic (web/js/workspace-model.js): `node --test e2e/unit`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { annotateTarget, countPts, duplicates, hex, pageOf, reordered, safeFilePrefix, statusRow, stepTarget, summaryChips, takesResultsQuery, uploadBatches } from '../../web/js/workspace-model.js';

const f = (name, size) => ({ name, size });

test('upload batches respect both the file count and the byte limit, in order', () => {
  const files = [f('a', 10), f('b', 10), f('c', 10), f('d', 10), f('e', 10)];
  assert.deepEqual(uploadBatches(files, 2, 1000).map((b) => b.map((x) => x.name)), [['a', 'b'], ['c', 'd'], ['e']]);
  // 10 + 10 + 10 = 30 > 25: a new batch starts before the third file
  assert.deepEqual(uploadBatches(files, 6, 25).map((b) => b.map((x) => x.name)), [['a', 'b'], ['c', 'd'], ['e']]);
  // exactly at the byte limit stays in the batch
  assert.deepEqual(uploadBatches(files, 6, 30).map((b) => b.length), [3, 2]);
  // a file bigger than the limit travels alone, never in an empty batch
  assert.deepEqual(uploadBatches([f('s', 1), f('big', 100), f('t', 1)], 6, 50).map((b) => b.map((x) => x.name)), [['s'], ['big'], ['t']]);
  assert.deepEqual(uploadBatches([], 6, 50), []);
});

test('digests print as lower-case hex with leading zeros', () => {
  assert.equal(hex(new Uint8Array([0, 1, 15, 16, 255])), '00010f10ff');
  assert.equal(hex(new Uint8Array([171, 205]).buffer), 'abcd');
  assert.equal(hex(new Uint8Array([])), '');
});

test('duplicates: against the project and within the same upload', () => {
  const a = { name: 'a.png' };
  const b = { name: 'b.png' };
  const c = { name: 'c.png' };
  const d = duplicates(
    [
      { file: a, hash: 'h1' },
      { file: b, hash: 'h2' },
      { file: c, hash: 'h2' },
    ],
    [['h1', 'old.png']],
  );
  assert.deepEqual(d, [[a, 'old.png'], [c, 'b.png']]);
  assert.deepEqual(duplicates([{ file: a, hash: 'x' }], []), []);
});

test('points are counted without the gaps', () => {
  assert.equal(countPts([[1, 2], null, [3, 4]]), 2);
  assert.equal(countPts([]), 0);
  assert.equal(countPts(undefined), 0);
  assert.equal(countPts('nope'), 0);
});

test('a status row shows position, size, points and distance', () => {
  const im = { id: 7, filename: 'x.png', width: 640, height: 480, fiducials: [[0, 0], [1, 1], null], scale: [[2, 2], [3, 3]], deformation_distance: 12.5, status: 'Incomplete' };
  assert.deepEqual(statusRow(im, 2, (x) => String(x)), { id: 7, position: '3', filename: 'x.png', size: '640 × 480', markers: '2 / 5', scale: '2 / 2', distance: '12.5 mm', status: 'Incomplete' });
  assert.equal(statusRow({ ...im, deformation_distance: null }, 0, String).distance, '—');
  assert.equal(statusRow({ ...im, deformation_distance: undefined }, 0, String).distance, '—');
  assert.equal(statusRow({ ...im, deformation_distance: 0 }, 0, String).distance, '0 mm');
});

test('pages are clamped and cover the items', () => {
  assert.deepEqual(pageOf(0, 0, 50), { page: 0, pages: 1, start: 0, end: 0 });
  assert.deepEqual(pageOf(50, 0, 50), { page: 0, pages: 1, start: 0, end: 50 });
  assert.deepEqual(pageOf(51, 1, 50), { page: 1, pages: 2, start: 50, end: 51 });
  assert.deepEqual(pageOf(120, 9, 50), { page: 2, pages: 3, start: 100, end: 120 });
  assert.deepEqual(pageOf(120, -1, 50), { page: 0, pages: 3, start: 0, end: 50 });
});

test('status chips: only statuses with images, in order', () => {
  assert.deepEqual(summaryChips({ Complete: 2, Incomplete: 0, 'Missing Distance': 1, Missing: 0 }), [['Complete', 2], ['Missing Distance', 1]]);
  assert.deepEqual(summaryChips({ Complete: 0 }), []);
});

test('the Annotate tab opens the current image, else the first to do, else the first', () => {
  const ims = [{ id: 1, status: 'Complete' }, { id: 2, status: 'Missing' }, { id: 3, status: 'Incomplete' }];
  assert.equal(annotateTarget(ims, 3), 3);
  assert.equal(annotateTarget(ims, undefined), 2);
  assert.equal(annotateTarget([{ id: 1, status: 'Complete' }, { id: 4, status: 'Complete' }], undefined), 1);
  assert.equal(annotateTarget([], undefined), undefined);
});

test('reordering moves one image and renumbers all', () => {
  const ims = () => [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }];
  const r = reordered(ims(), 0, 2);
  assert.deepEqual(r.map((x) => [x.id, x.order]), [[2, 0], [3, 1], [1, 2], [4, 3]]);
  assert.deepEqual(reordered(ims(), 3, -5).map((x) => x.id), [4, 1, 2, 3]);
  assert.deepEqual(reordered(ims(), 1, 99).map((x) => x.id), [1, 3, 4, 2]);
  assert.equal(reordered(ims(), 2, 2), null);
  assert.equal(reordered(ims(), 3, 10), null); // already last
  assert.equal(reordered(ims(), -1, 0), null);
  const orig = ims();
  reordered(orig, 0, 1);
  assert.deepEqual(orig.map((x) => x.id), [1, 2, 3, 4], 'the given array keeps its order');
});

test('stepping stops at both ends and at unknown images', () => {
  const ims = [{ id: 5, status: '' }, { id: 6, status: '' }, { id: 7, status: '' }];
  assert.equal(stepTarget(ims, 5, 1), 6);
  assert.equal(stepTarget(ims, 6, -1), 5);
  assert.equal(stepTarget(ims, 7, 1), null);
  assert.equal(stepTarget(ims, 5, -1), null);
  assert.equal(stepTarget(ims, 99, 1), null);
});

test('results exports and reports take the analysis query, data exports do not', () => {
  const ex = { files: [{ name: 'strains.csv', from_analysis: true }, { name: 'project.json', from_analysis: false }], reports: ['html', 'pdf'] };
  assert.equal(takesResultsQuery('/projects/3/export/strains.csv', ex), true);
  assert.equal(takesResultsQuery('/projects/3/export/project.json', ex), false);
  assert.equal(takesResultsQuery('/projects/3/report/pdf', ex), true);
  assert.equal(takesResultsQuery('/projects/3/report/docx', ex), false);
  assert.equal(takesResultsQuery('/projects/3/export/plot/eps_xx.svg', ex), false);
});

test('download prefixes keep word characters, dots and dashes only', () => {
  assert.equal(safeFilePrefix('My test <b>#1</b>'), 'My_test_b_1_b_');
  assert.equal(safeFilePrefix(undefined), 'project');
  assert.equal(safeFilePrefix('x'.repeat(80)).length, 60);
  assert.equal(safeFilePrefix('a.b-c'), 'a.b-c');
});
