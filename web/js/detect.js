// @ts-check
// Automatic detection in the annotator toolbar (the `#annotator-tools` slot):
//
//   Auto-detect  this image: the 5 markers (tracked from the previous image when it has them)
//                and the ruler's scale points, saved by the server as "auto" points
//   Detect all   every image in order, each tracked from the one before, one request per image
//                (so the progress "Detecting 2/4…" is real), with Cancel
//   Snap (S)     the selected marker to the centre of the dot under it
//
// The server does the work (docs/api.md, "Detection"). Its answers are image records that go
// through store.applyImage, so the annotator draws them like any other point: auto points with a
// dashed ring and their confidence, those below LOW_CONFIDENCE highlighted for review. Every auto
// point stays draggable; moving one makes it manual (the server keeps the provenance of points
// that did not move).
import { api } from './api.js';
import { h, icon, isTyping } from './dom.js';
import { flushSaves, saveImage, store } from './state.js';
import { confirmDialog, saveState, toast, toastError } from './ui.js';

/** Points found with a lower confidence are highlighted for review (the annotator uses 0.5 too). */
export const LOW_CONFIDENCE = 0.5;
/** How far (image px) Snap looks for a dot around the selected marker. */
export const SNAP_RADIUS = 25;
const SUMMARY_MS = 9000;

const pct = (c) => `${Math.floor(c * 100 + 1e-9)} %`; // floor: 0.495 is "49 %", below the 50 % review line
const round3 = (v) => Math.round(v * 1000) / 1000;
const conf2 = (c) => (Math.floor(c * 100 + 1e-9) / 100).toFixed(2);
const samePoint = (a, b) => Array.isArray(a) && Array.isArray(b) && a[0] === b[0] && a[1] === b[1];

/** Points of an image that were not found by detection (placed or moved by hand). */
function manualCount(im) {
  const count = (pts, meta) => (Array.isArray(pts) ? pts.filter((_, i) => meta?.[i]?.source !== 'auto').length : 0);
  return count(im.fiducials, im.fiducial_meta) + count(im.scale, im.scale_meta);
}

/** What to review in one detection: labels of auto points below LOW_CONFIDENCE. */
function lowPoints(det) {
  const out = [];
  const m = det?.markers;
  if (m?.found) {
    m.confidence.forEach((c, i) => {
      if (c < LOW_CONFIDENCE) out.push(`marker ${i} (${pct(c)})`);
    });
  }
  const r = det?.ruler;
  if (r?.found && typeof r.confidence === 'number' && r.confidence < LOW_CONFIDENCE) out.push(`scale points (${pct(r.confidence)})`);
  return out;
}

/**
 * "5 markers (min confidence 0.92) · ruler 40 mm = 632.5 px", with what went wrong.
 * @returns {{text: string, kind: 'error' | 'ok' | 'info', failed: boolean, low: string[]}}
 */
export function summarize(det, trackedFrom) {
  const parts = [];
  const notes = [];
  const m = det?.markers;
  if (m) {
    if (m.found) {
      const how = m.method === 'track' && trackedFrom ? ` tracked from “${trackedFrom}”` : '';
      parts.push(`5 markers${how} (min confidence ${conf2(m.min_confidence)})`);
      if (m.message) notes.push(m.message);
    } else {
      parts.push('markers not found');
      notes.push(m.message);
    }
  }
  const r = det?.ruler;
  if (r) {
    if (r.found) {
      parts.push(`ruler ${r.span_mm} mm = ${r.span_px.toFixed(1)} px`);
    } else {
      parts.push('no ruler scale');
    }
    if (r.message) notes.push(r.message);
  }
  const low = lowPoints(det);
  if (low.length) parts.push(`review ${low.join(', ')}`);
  const failed = (m && !m.found) || (r && !r.found);
  const text = parts.join(' · ') + (notes.length ? `. ${notes.filter(Boolean).map((n) => n[0].toUpperCase() + n.slice(1)).join('. ')}` : '');
  return { text, kind: failed || low.length ? 'info' : 'ok', failed, low };
}

export class DetectTools {
  constructor(annotator) {
    this.an = annotator;
    this.busy = null; // null | 'one' | 'all' | 'snap'
    this.run = null; // the Detect all run: {cancelled}
  }

  mount(slot) {
    const btn = (id, iconName, label, title, onClick) =>
      h('button.btn.small', { type: 'button', id, title, 'aria-label': label, on: { click: onClick } }, icon(iconName), h('span.btn-label', null, label));
    this.oneBtn = btn('detect-image', 'wand', 'Auto-detect', 'Find the 5 markers and the ruler scale points in this image', () => this.detectCurrent());
    this.allBtn = btn('detect-all', 'layers', 'Detect all', 'Find the markers and the scale in every image, in order, each tracked from the one before', () => this.detectAll());
    this.snapBtn = btn('snap-point', 'magnet', 'Snap', 'Move the selected marker to the centre of the dot under it (S)', () => this.snapSelected());
    this.buttons = h('div.detect-buttons', { role: 'group', 'aria-label': 'Automatic detection' }, this.oneBtn, this.allBtn, this.snapBtn);
    this.label = h('span.detect-label', { id: 'detect-progress-label' });
    this.fill = h('div.progress-fill');
    this.bar = h('div.progress', { role: 'progressbar', 'aria-labelledby': 'detect-progress-label', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, this.fill);
    this.cancelBtn = h('button.btn.small', { type: 'button', id: 'detect-cancel', title: 'Stop after the image being detected now', on: { click: () => this.cancel() } }, icon('x'), 'Cancel');
    this.progress = h('div.detect-progress', { id: 'detect-progress', role: 'status', 'aria-live': 'polite', hidden: true }, h('span.spinner', { 'aria-hidden': 'true' }), this.label, this.bar, this.cancelBtn);
    slot.replaceChildren(this.buttons, this.progress);
    this.onKey = (ev) => this.keydown(ev);
    document.addEventListener('keydown', this.onKey);
  }

  unmount() {
    document.removeEventListener('keydown', this.onKey);
    if (this.run) this.run.cancelled = true;
  }

  keydown(ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key !== 's' && ev.key !== 'S') return;
    if (document.querySelector('dialog[open]') || isTyping(ev.target)) return;
    if (ev.target instanceof Element && ev.target.closest('.sidebar, .appbar')) return;
    ev.preventDefault();
    this.snapSelected();
  }

  setBusy(what, button) {
    this.busy = what;
    for (const b of [this.oneBtn, this.allBtn, this.snapBtn]) {
      b.disabled = !!what;
      b.classList.toggle('busy', !!what && b === button);
      b.setAttribute('aria-busy', String(!!what && b === button));
    }
  }

  /** Send every edit still waiting, so that it cannot overwrite what detection saves. */
  async flush() {
    this.an.saveNudge?.flush();
    this.an.saveDist?.flush();
    await flushSaves();
  }

  /**
   * Take a detection answer into the store. On the image shown, the server's points replace
   * the local ones (also where a removed point left a gap) and Ctrl+Z restores the old ones.
   */
  apply(res, before) {
    const an = this.an;
    const shown = res.image.id === an.imageId;
    if (shown && before !== undefined) an.pushUndo(before);
    store.applyImage(res.image, res.project ?? null);
    if (shown && !an.gesture && !an.nudgePending) an.keepOldPositions();
  }

  /** The image before `im` in the order, when it has all 5 markers to track from. */
  previousWithMarkers(im) {
    const i = store.indexOf(im.id);
    const prev = i > 0 ? store.images[i - 1] : null;
    return prev && Array.isArray(prev.fiducials) && prev.fiducials.length === 5 ? prev : null;
  }

  async detectCurrent() {
    if (this.busy) return;
    const im = this.an.record;
    if (!im || !store.project) return;
    const pid = store.project.id;
    const prev = this.previousWithMarkers(im);
    this.setBusy('one', this.oneBtn);
    saveState.markPending(true);
    try {
      await this.flush();
      const before = this.an.imageId === im.id ? this.an.snapshot() : undefined;
      const res = await api.detectImage(pid, im.id, { track_from: prev ? prev.id : null });
      if (store.project?.id !== pid) return;
      this.apply(res, before);
      const s = summarize(res.detection, prev?.filename);
      toast(s.text, s.kind, { timeout: SUMMARY_MS });
    } catch (e) {
      toastError(e); // a 422 carries the reason ("no plausible 5-marker pattern in …")
    } finally {
      saveState.markPending(false);
      this.setBusy(null);
    }
  }

  async detectAll() {
    if (this.busy || !store.project) return;
    const pid = store.project.id;
    await store.rest; // every page of a large project
    const images = store.images.slice();
    if (!images.length) return;
    const manual = images.filter((im) => manualCount(im) > 0);
    if (manual.length) {
      const ok = await confirmDialog({
        title: 'Detect all images?',
        message: `The markers and scale points found replace those of each image, including points placed by hand in ${manual.length === 1 ? '1 image' : `${manual.length} images`}. Parts not found are left as they are. Ctrl+Z restores the image shown.`,
        confirmLabel: 'Detect all',
      });
      if (!ok || store.project?.id !== pid) return;
    }
    const run = { cancelled: false };
    this.run = run;
    this.setBusy('all', this.allBtn);
    this.showProgress(0, images.length);
    saveState.markPending(true);
    const done = [];
    const failed = [];
    let attempted = 0;
    let trackFrom = null; // the last image with 5 markers
    let stoppedBy = null;
    try {
      await this.flush();
      for (let i = 0; i < images.length; i++) {
        if (run.cancelled || store.project?.id !== pid) break;
        this.showProgress(i, images.length);
        const im = images[i];
        const before = im.id === this.an.imageId ? this.an.snapshot() : undefined;
        attempted++;
        try {
          const res = await api.detectImage(pid, im.id, { track_from: trackFrom ? trackFrom.id : null });
          if (store.project?.id !== pid) break;
          this.apply(res, before);
          done.push({ im, det: res.detection });
          const s = summarize(res.detection);
          if (s.failed) failed.push(`${im.filename}: ${s.text}`);
        } catch (e) {
          if (!e || e.status === 0 || e.status >= 500 || e.name === 'AbortError') {
            stoppedBy = e;
            break;
          }
          failed.push(`${im.filename}: ${e.message}`); // 422: nothing found, nothing changed
        }
        const now = store.image(im.id);
        if (now && Array.isArray(now.fiducials) && now.fiducials.length === 5) trackFrom = now;
      }
    } finally {
      saveState.markPending(false);
      this.showProgress(null);
      this.setBusy(null);
      this.run = null;
    }
    if (store.project?.id !== pid) return;
    if (stoppedBy) toastError(stoppedBy);
    this.reportAll(done, failed, attempted, images.length, run.cancelled);
  }

  reportAll(done, failed, attempted, total, cancelled) {
    const markers = done.filter((d) => d.det?.markers?.found);
    const rulers = done.filter((d) => d.det?.ruler?.found);
    const minConf = markers.reduce((m, d) => Math.min(m, d.det.markers.min_confidence), 1);
    const review = done.flatMap((d) => lowPoints(d.det).map((p) => `${d.im.filename} ${p}`));
    const head = cancelled ? `Stopped after ${attempted} of ${total} images` : `Detected ${total} ${total === 1 ? 'image' : 'images'}`;
    const parts = [`${head}: markers in ${markers.length}${markers.length ? ` (min confidence ${conf2(minConf)})` : ''}, ruler in ${rulers.length}`];
    if (review.length) parts.push(`review ${review.join('; ')}`);
    toast(parts.join(' · '), failed.length || review.length || cancelled ? 'info' : 'ok', { timeout: SUMMARY_MS });
    if (failed.length) toast(`Not found in ${failed.length === 1 ? '1 image' : `${failed.length} images`}: ${failed.join(' — ')}`, 'error', { timeout: 15000 });
  }

  showProgress(i, n) {
    const running = i !== null;
    this.progress.hidden = !running;
    if (!running) {
      this.cancelBtn.disabled = false;
      return;
    }
    const frac = n ? i / n : 0;
    this.label.textContent = this.run?.cancelled ? `Stopping after ${i + 1}/${n}…` : `Detecting ${Math.min(i + 1, n)}/${n}…`;
    this.fill.style.width = `${Math.round(frac * 100)}%`;
    this.bar.setAttribute('aria-valuenow', String(Math.round(frac * 100)));
  }

  cancel() {
    if (!this.run) return;
    this.run.cancelled = true;
    this.cancelBtn.disabled = true;
    this.label.textContent = this.label.textContent.replace(/^Detecting/, 'Stopping after');
  }

  async snapSelected() {
    if (this.busy) return;
    const an = this.an;
    const k = an.selected;
    const im = an.record;
    if (!im || !store.project) return;
    if (!k || !an.pts[k]) {
      toast('Select a marker first (click it, or its row in the table), then press S to snap it to the centre of its dot.', 'info');
      return;
    }
    if (k[0] !== 'f') {
      toast('Snap moves a marker (0–4) to the centre of its dot; scale points stay where you put them.', 'info');
      return;
    }
    const idx = Number(k.slice(1));
    const pid = store.project.id;
    const from = an.pts[k];
    this.setBusy('snap', this.snapBtn);
    try {
      const res = await api.snapPoint(pid, im.id, { x: round3(from.x), y: round3(from.y), radius: SNAP_RADIUS });
      if (an.imageId !== im.id || store.project?.id !== pid || !an.pts[k]) return;
      await this.flush();
      const oldPoints = Array.isArray(im.fiducials) ? im.fiducials.slice() : [];
      const oldMeta = Array.isArray(im.fiducial_meta) ? im.fiducial_meta.slice() : [];
      an.pushUndo();
      an.pts[k] = { x: res.point[0], y: res.point[1] };
      const patch = an.writeRecord();
      if (patch && patch.fiducials) {
        // the snapped marker is auto with the snap's confidence; the others keep theirs
        patch.fiducial_meta = patch.fiducials.map((p, i) =>
          i === idx ? { source: 'auto', confidence: res.confidence } : samePoint(p, oldPoints[i]) && oldMeta[i] ? oldMeta[i] : { source: 'manual', confidence: null },
        );
        im.fiducial_meta = patch.fiducial_meta;
        saveImage(im.id, patch);
      }
      an.renderOverlay();
      an.renderInspector();
      const moved = res.moved_px < 0.05 ? 'is already at the centre of its dot' : `moved ${res.moved_px.toFixed(1)} px to the centre of its dot`;
      toast(`Marker ${idx} ${moved} (confidence ${pct(res.confidence)})`, res.confidence < LOW_CONFIDENCE ? 'info' : 'ok');
    } catch (e) {
      toastError(e); // 422: "no marker near (x, y) in '…'"
    } finally {
      this.setBusy(null);
    }
  }
}
