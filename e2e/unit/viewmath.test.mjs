// Unit tests of the annotator's view transform (web/js/viewmath.js): `node --test e2e/unit`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIT_PAD, MAX_ZOOM, fitView, fitZoom, toImage, toScreen, zoomAbout } from '../../web/js/viewmath.js';

const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('screen and image coordinates are inverse, pixel centres at integers', () => {
  const v = { z: 2.5, tx: 13, ty: -7 };
  for (const p of [{ x: 0, y: 0 }, { x: 123.25, y: 77.5 }, { x: -3, y: 1000 }]) {
    const s = toScreen(v, p);
    const back = toImage(v, s.x, s.y);
    close(back.x, p.x, 'x');
    close(back.y, p.y, 'y');
  }
  // Pixel (0, 0) covers screen [tx, tx + z): its centre is half a pixel in.
  assert.deepEqual(toScreen({ z: 2, tx: 10, ty: 20 }, { x: 0, y: 0 }), { x: 11, y: 21 });
});

test('fitting centres the image with the margin on its limiting side', () => {
  const v = fitView(1000, 600, 1476, 1144);
  close(v.z, fitZoom(1000, 600, 1476, 1144), 'zoom');
  close(v.z, (600 - 2 * FIT_PAD) / 1144, 'height limits');
  close(v.ty, (600 - 1144 * v.z) / 2, 'centred vertically');
  close(v.tx, (1000 - 1476 * v.z) / 2, 'centred horizontally');
  close(v.ty, FIT_PAD, 'margin');
});

test('zooming keeps the image point under the cursor and stays in bounds', () => {
  const v = { z: 1, tx: 40, ty: 30 };
  const at = { x: 300, y: 200 };
  const before = toImage(v, at.x, at.y);
  const w = zoomAbout(v, 3, at.x, at.y, 0.5);
  const after = toImage(w, at.x, at.y);
  close(after.x, before.x, 'x fixed');
  close(after.y, before.y, 'y fixed');
  assert.equal(zoomAbout(v, 1000, 0, 0, 0.5).z, MAX_ZOOM);
  assert.equal(zoomAbout(v, 0.01, 0, 0, 0.5).z, 0.5);
});
