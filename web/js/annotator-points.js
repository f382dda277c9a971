// @ts-check
// The annotator's point operations: place, select, remove, nudge, clear, undo snapshots, the
// save of the points and of the distance. Methods of `Annotator` (annotator.js), kept apart
// so that each file has one job; the point model itself is in points.js.
import { saveImage } from './state.js';
import { confirmDialog, saveState, toast } from './ui.js';
import { hitTest, inImage, nextKey, nudged, ORDER, pointsPatch, slotsFrom, toPt } from './points.js';

/** @typedef {import('./points.js').Pt} Pt */

const HIT_RADIUS = 13; // screen px

/** Point methods of the annotator. */
export const pointMethods = {
  /** @returns {string | null} the key of the point the next click places */
  nextKey() {
    return nextKey(this.pts);
  },

  /** @param {number} sx @param {number} sy @returns {string | null} the point under (sx, sy) */
  hitTest(sx, sy) {
    return hitTest(this.pts, (p) => this.toScreen(p), sx, sy, HIT_RADIUS);
  },

  /** The points and their provenance (auto + confidence, or manual), to undo back to. */
  snapshot() {
    const im = this.record;
    return JSON.stringify({ pts: this.pts, fmeta: im?.fiducial_meta ?? [], smeta: im?.scale_meta ?? [] });
  },

  /** @param {string} [snap] */
  pushUndo(snap) {
    this.history.push(snap ?? this.snapshot());
  },

  /** @param {Pt} p */
  inBounds(p) {
    const im = this.record;
    return inImage(p, im.width, im.height);
  },

  /** A removed point that the server still has (a hole not yet re-placed), else null. */
  /** @param {string} k @returns {Pt | null} */
  ghost(k) {
    if (this.pts[k]) return null;
    const im = this.record;
    const arr = k[0] === 'f' ? im?.fiducials : im?.scale;
    return toPt(arr?.[Number(k.slice(1))]);
  },

  hasHole() {
    return ORDER.some((k) => this.ghost(k));
  },

  /** Give up re-placing: removed points that the server still has come back. */
  keepOldPositions() {
    const im = this.record;
    if (!im) return;
    this.pts = slotsFrom(im);
    this.renderOverlay();
    this.renderInspector();
  },

  /** Place the next point at `p` (image px). @param {Pt} p */
  place(p) {
    const key = this.nextKey();
    if (!key) {
      this.select(null);
      return;
    }
    if (!this.inBounds(p)) {
      toast('Click inside the image to place a point.', 'info');
      return;
    }
    this.pushUndo();
    this.pts[key] = { x: p.x, y: p.y };
    this.selected = key;
    this.commitPoints();
  },

  /** @param {string | null} key */
  select(key) {
    this.selected = key;
    this.renderOverlay();
    this.renderTable();
  },

  removeSelected() {
    const k = this.selected;
    if (!k || !this.pts[k]) return;
    this.pushUndo();
    this.pts[k] = null;
    this.selected = null;
    this.commitPoints();
  },

  /** Move the selected point by (dx, dy) image px. @param {number} dx @param {number} dy */
  nudge(dx, dy) {
    const k = this.selected;
    if (!k || !this.pts[k]) return;
    if (!this.nudgePending) {
      this.pushUndo();
      this.nudgePending = true;
      saveState.markPending(true);
    }
    const im = this.record;
    this.pts[k] = nudged(this.pts[k], dx, dy, im.width, im.height);
    this.renderOverlay();
    this.renderTable();
    this.saveNudge();
  },

  async clearAll() {
    if (!ORDER.some((k) => this.pts[k])) return;
    const ok = await confirmDialog({ title: 'Clear all points?', message: 'The 5 markers and 2 scale points of this image are removed. You can undo with Ctrl+Z.', confirmLabel: 'Clear points', danger: true });
    if (!ok) return;
    this.pushUndo();
    for (const k of ORDER) this.pts[k] = null;
    this.selected = null;
    this.commitPoints();
  },

  /** @param {string} snap  a {@link Annotator#snapshot} */
  restore(snap) {
    const s = JSON.parse(snap);
    this.pts = s.pts;
    if (this.selected && !this.pts[this.selected]) this.selected = null;
    this.commitPoints(s);
  },

  /**
   * Copy the local points into the store record (optimistic) and return the patch to save.
   * `meta` (from an undo snapshot) restores the points' provenance with them: an undone drag of
   * a detected point brings it back as `auto` with its confidence, not as a manual point.
   */
  writeRecord(meta) {
    const im = this.record;
    if (!im) return null;
    const patch = pointsPatch(this.pts, im, meta);
    if (patch) Object.assign(im, patch);
    return patch;
  },

  commitPoints(meta) {
    const patch = this.writeRecord(meta);
    this.renderOverlay();
    this.renderInspector();
    if (patch) saveImage(this.imageId, patch);
  },

  async saveDistance() {
    if (this.distPending) {
      this.distPending = false;
      saveState.markPending(false);
    }
    const im = this.record;
    if (!im) return;
    const raw = this.distInput.value.trim();
    let v = null;
    if (raw !== '') {
      v = this.distInput.valueAsNumber;
      if (!Number.isFinite(v)) {
        this.distInput.setAttribute('aria-invalid', 'true');
        return;
      }
    }
    this.distInput.removeAttribute('aria-invalid');
    if (v === im.deformation_distance) return;
    im.deformation_distance = v;
    this.renderInspector();
    saveImage(im.id, { deformation_distance: v });
  },
};
