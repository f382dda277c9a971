// @ts-check
// The annotator's view transform, without the DOM. Image pixel coordinates have the origin at
// the top-left of the image, x right, y down, and the CENTRE of pixel (i, j) at (i, j); the view
// is a zoom `z` and an offset (tx, ty) in CSS px from the viewport's top-left corner:
//     screenX = tx + (x + 0.5) · z        x = (screenX − tx) / z − 0.5
// Unit-tested by `node --test e2e/unit`.

/** @typedef {{z: number, tx: number, ty: number}} View */

/** Largest zoom (screen px per image px). */
export const MAX_ZOOM = 32;
/** Margin kept around a fitted image, screen px. */
export const FIT_PAD = 24;

/** @param {View} v */
export function toScreen(v, p) {
  return { x: v.tx + (p.x + 0.5) * v.z, y: v.ty + (p.y + 0.5) * v.z };
}

/** @param {View} v */
export function toImage(v, sx, sy) {
  return { x: (sx - v.tx) / v.z - 0.5, y: (sy - v.ty) / v.z - 0.5 };
}

/** The zoom at which an image of iw × ih px fits a viewport of w × h px with the margin. */
export function fitZoom(w, h, iw, ih) {
  return Math.min((w - 2 * FIT_PAD) / iw, (h - 2 * FIT_PAD) / ih);
}

/**
 * The view that shows the whole image centred in the viewport.
 * @returns {View}
 */
export function fitView(w, h, iw, ih) {
  const z = Math.max(0.01, fitZoom(w, h, iw, ih));
  return { z, tx: (w - iw * z) / 2, ty: (h - ih * z) / 2 };
}

/**
 * `v` zoomed to `z` (clamped to [minZ, MAX_ZOOM]) keeping the image point under the viewport
 * position (cx, cy) where it is.
 * @param {View} v
 * @returns {View}
 */
export function zoomAbout(v, z, cx, cy, minZ) {
  const nz = Math.max(minZ, Math.min(MAX_ZOOM, z));
  return { z: nz, tx: cx - (cx - v.tx) * (nz / v.z), ty: cy - (cy - v.ty) * (nz / v.z) };
}
