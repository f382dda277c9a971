// Unit tests of the annotator's point model (web/js/points.js): `node --test e2e/unit`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { History, MAX_UNDO, ORDER, hitTest, historyOf, inImage, nextKey, nudged, pointsPatch, slotsFrom, toApi, toPt } from '../../web/js/points.js';

test('an image record becomes seven slots, bad entries empty', () => {
  const pts = slotsFrom({ fiducials: [[1, 2], [3, 4], 'x', [5, Number.NaN]], scale: [[7.5, 8]] });
  assert.deepEqual(Object.keys(pts), ORDER);
  assert.deepEqual(pts.f0, { x: 1, y: 2 });
  assert.equal(pts.f2, null);
  assert.equal(pts.f3, null);
  assert.equal(pts.f4, null);
  assert.deepEqual(pts.s0, { x: 7.5, y: 8 });
  assert.equal(pts.s1, null);
  assert.equal(toPt([1]), null);
  assert.deepEqual(slotsFrom({}), Object.fromEntries(ORDER.map((k) => [k, null])));
});

test('slots go back to contiguous API lists, rounded as stored; a hole is not sent', () => {
  const pts = slotsFrom({ fiducials: [[1.23456, 2], [3, 4]], scale: [[1, 1], [2, 2]] });
  assert.deepEqual(toApi(pts, 'f', 5), [[1.235, 2], [3, 4]]);
  pts.f0 = null;
  assert.equal(toApi(pts, 'f', 5), null, 'f0 removed while f1 exists');
  pts.s1 = null;
  assert.deepEqual(toApi(pts, 's', 2), [[1, 1]]);
});

test('the patch has only what changed, with the snapshot provenance when it fits', () => {
  const record = { fiducials: [[1, 1]], scale: [[5, 5], [6, 6]] };
  const pts = slotsFrom(record);
  assert.equal(pointsPatch(pts, record, undefined), null);
  pts.f1 = { x: 2, y: 2 };
  const auto = [{ source: 'auto', confidence: 0.9 }, { source: 'auto', confidence: 0.8 }];
  assert.deepEqual(pointsPatch(pts, record, { fmeta: auto, smeta: [] }), { fiducials: [[1, 1], [2, 2]], fiducial_meta: auto });
  // Provenance of another length is not applied (it belongs to other points).
  assert.deepEqual(pointsPatch(pts, record, { fmeta: auto.slice(0, 1) }), { fiducials: [[1, 1], [2, 2]] });
});

test('the next slot is the first empty one', () => {
  const pts = slotsFrom({ fiducials: [[1, 1], [2, 2]] });
  assert.equal(nextKey(pts), 'f2');
  pts.f0 = null;
  assert.equal(nextKey(pts), 'f0');
  assert.equal(nextKey(slotsFrom({ fiducials: [[1, 1], [1, 1], [1, 1], [1, 1], [1, 1]], scale: [[1, 1], [2, 2]] })), null);
});

test('hit testing takes the nearest point within the radius', () => {
  const pts = slotsFrom({ fiducials: [[10, 10], [14, 10]] });
  const identity = (p) => p;
  assert.equal(hitTest(pts, identity, 11, 10, 13), 'f0');
  assert.equal(hitTest(pts, identity, 13, 10, 13), 'f1');
  assert.equal(hitTest(pts, identity, 40, 40, 13), null);
  // In screen px: at zoom 4 the same image distance is 4× larger.
  const zoom4 = (p) => ({ x: p.x * 4, y: p.y * 4 });
  assert.equal(hitTest(pts, zoom4, 40, 40 + 12, 13), 'f0');
  assert.equal(hitTest(pts, zoom4, 40, 40 + 14, 13), null);
});

test('points stay on the image when nudged', () => {
  assert.ok(inImage({ x: 0, y: 100 }, 100, 100));
  assert.ok(!inImage({ x: -0.1, y: 5 }, 100, 100));
  assert.deepEqual(nudged({ x: 99.5, y: 0.2 }, 1, -1, 100, 100), { x: 100, y: 0 });
  assert.deepEqual(nudged({ x: 5, y: 5 }, 0.1, 0.2, 100, 100), { x: 5.1, y: 5.2 });
});

test('undo and redo walk the snapshots; a new edit forgets what was undone', () => {
  const h = new History();
  h.push('a');
  h.push('b');
  assert.equal(h.back('c'), 'b');
  assert.equal(h.back('b'), 'a');
  assert.equal(h.back('a'), null);
  assert.equal(h.forward('a'), 'b');
  h.push('x');
  assert.equal(h.forward('x'), null, 'redo cleared by a new edit');
  for (let i = 0; i < MAX_UNDO + 10; i++) h.push(String(i));
  assert.equal(h.undo.length, MAX_UNDO);
});

test('each image keeps its own history for the page’s life', () => {
  historyOf(1).push('one');
  historyOf(2).push('two');
  assert.equal(historyOf(1).back('now'), 'one');
  assert.equal(historyOf(2).back('now'), 'two');
  assert.equal(historyOf(3).back('now'), null);
});
