// The annotator: one image at full resolution in a zoomable, pannable viewport with an SVG
// overlay of the 7 points (5 fiducial markers, 2 scale points).
//
// The pure parts live in their own modules, unit-tested without a browser: the view transform
// in viewmath.js, the point model (slots, API lists, hit testing, undo history) in points.js.
// This file is the DOM: the viewport, the SVG overlay, the inspector and the input handling.
// The viewport element publishes the transform read-only as data-zoom, data-tx, data-ty (for
// tests and tools), together with data-image-id, data-image-width and data-image-height.
import { urls } from './api.js';
import { debounce, h, icon, isTyping, replace, SVG_NS } from './dom.js';
import { fixed, mm, px } from './format.js';
import { saveImage, store } from './state.js';
import { badge, confirmDialog, helpDialog, saveState, toast } from './ui.js';
import { DetectTools } from './detect.js';
import { hitTest, historyOf, inImage, nextKey, nudged, ORDER, POINT_INFO, pointsPatch, slotsFrom, toPt } from './points.js';
import { fitView, fitZoom, toImage, toScreen, zoomAbout } from './viewmath.js';

const HIT_RADIUS = 13; // screen px
const CLICK_SLOP = 4; // screen px a press may move and still count as a click

export class Annotator {
  constructor(host, { workspace }) {
    this.host = host;
    this.ws = workspace;
    this.imageId = null;
    this.pts = slotsFrom({});
    this.selected = null;
    this.z = 1;
    this.tx = 0;
    this.ty = 0;
    this.fitted = true;
    this.gesture = null;
    this.space = false;
    this.hover = null; // last pointer position in viewport px
  }

  // ---------------------------------------------------------------- building
  mount() {
    this.img = h('img.photo', { alt: '', draggable: 'false', decoding: 'async' });
    this.img.addEventListener('load', () => {
      this.veil.classList.remove('show');
      this.img.classList.remove('loading');
    });
    this.img.addEventListener('error', () => {
      if (!this.img.getAttribute('src')) return;
      this.veil.classList.remove('show');
      toast('The image file could not be loaded from the server.', 'error');
    });
    this.svg = document.createElementNS(SVG_NS, 'svg');
    this.svg.setAttribute('class', 'overlay');
    this.svg.setAttribute('aria-hidden', 'true');
    this.veil = h('div.veil', null, h('span.spinner'), 'Loading image…');
    this.viewport = h(
      'div.viewport',
      { tabindex: '0', id: 'viewport', role: 'application', 'aria-roledescription': 'image annotator', 'aria-describedby': 'next-hint' },
      this.img,
      this.svg,
      this.veil,
    );

    // toolbar
    // Prev/Next/Fit lose their words before the detection buttons do (style.css, .tool-label).
    this.prevBtn = h('button.btn.small', { type: 'button', id: 'prev-image', 'aria-label': 'Previous image', title: 'Previous image (Page Up or [)', on: { click: () => this.ws.step(-1) } }, icon('left'), h('span.tool-label', null, 'Prev'));
    this.nextBtn = h('button.btn.small', { type: 'button', id: 'next-image', 'aria-label': 'Next image', title: 'Next image (Page Down or ])', on: { click: () => this.ws.step(1) } }, h('span.tool-label', null, 'Next'), icon('right'));
    this.posEl = h('span.pos', { id: 'image-position' });
    this.zoomEl = h('button.btn.ghost.small.zoom-readout', { type: 'button', id: 'zoom-100', title: 'Actual size (1)', on: { click: () => this.zoomTo(1) } }, '100 %');
    /** Room for image tools added later (e.g. automatic marker detection), before the zoom group. */
    this.extraTools = h('div.tool-group', { id: 'annotator-tools', dataset: { slot: 'detect' } });
    const toolbar = h(
      'div.toolbar',
      { role: 'toolbar', 'aria-label': 'Image and view' },
      h('div.tool-group', null, this.prevBtn, this.posEl, this.nextBtn),
      h('div.tool-spacer'),
      this.extraTools,
      h(
        'div.tool-group.zoom',
        { role: 'group', 'aria-label': 'Zoom' },
        h('button.btn.small.icon-only', { type: 'button', id: 'zoom-out', 'aria-label': 'Zoom out', title: 'Zoom out (−)', on: { click: () => this.zoomBy(1 / 1.5) } }, icon('zoom-out')),
        this.zoomEl,
        h('button.btn.small.icon-only', { type: 'button', id: 'zoom-in', 'aria-label': 'Zoom in', title: 'Zoom in (+)', on: { click: () => this.zoomBy(1.5) } }, icon('zoom-in')),
        h('button.btn.small', { type: 'button', id: 'zoom-fit', 'aria-label': 'Fit to view', title: 'Fit to view (0 or F)', on: { click: () => this.fit() } }, icon('fit'), h('span.tool-label', null, 'Fit')),
      ),
    );

    // inspector
    this.titleEl = h('h2.image-title', { id: 'image-title' });
    this.metaEl = h('p.small.muted', { id: 'image-meta' });
    this.badgeEl = h('span', { id: 'image-status' });
    this.hintEl = h('div.hint', { id: 'next-hint', 'aria-live': 'polite' });
    this.distInput = h('input.input.num', { type: 'number', id: 'distance', step: 'any', inputmode: 'decimal', 'aria-describedby': 'distance-help' });
    this.distHelp = h('p.small.muted.field-help', { id: 'distance-help' });
    const saveDist = debounce(() => this.saveDistance(), 500);
    this.distInput.addEventListener('input', () => {
      if (!this.distPending) {
        this.distPending = true;
        saveState.markPending(true);
      }
      saveDist();
    });
    this.distInput.addEventListener('change', () => saveDist.flush());
    this.distInput.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        saveDist.flush();
        this.viewport.focus();
      } else if (ev.key === 'Escape') {
        this.viewport.focus();
      }
    });
    this.saveDist = saveDist;
    this.tableBody = h('tbody');
    this.scaleInfo = h('p.small.scale-info', { id: 'scale-info' });
    this.inspector = h(
      'aside.inspector',
      { 'aria-label': 'Points and distance of this image' },
      h('div.insp-head', null, this.titleEl, h('div.insp-meta', null, this.badgeEl, this.metaEl)),
      this.hintEl,
      h(
        'div.insp-section',
        null,
        h('label.field', { for: 'distance' }, h('span.field-label', null, 'Deformation distance')),
        h('div.input-unit', null, this.distInput, h('span.unit', null, 'mm')),
        this.distHelp,
      ),
      h(
        'div.insp-section.grow',
        null,
        h(
          'table.table.points-table',
          { id: 'points-table' },
          h('caption', null, 'Points (image pixels)'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, h('span.sr-only', null, 'Label')), h('th', { scope: 'col' }, 'Point'), h('th.num', { scope: 'col' }, 'x'), h('th.num', { scope: 'col' }, 'y'), h('th', { scope: 'col' }, h('span.sr-only', null, 'Remove')))),
          this.tableBody,
        ),
        this.scaleInfo,
        h(
          'div.insp-actions',
          null,
          h('button.btn.small', { type: 'button', id: 'clear-points', on: { click: () => this.clearAll() } }, icon('eraser'), 'Clear points'),
          h('button.btn.small.ghost', { type: 'button', on: { click: helpDialog } }, icon('keyboard'), 'Shortcuts'),
        ),
      ),
    );

    this.el = h('div.annotator', null, h('div.stage', null, toolbar, this.viewport), this.inspector);
    this.host.replaceChildren(this.el);
    this.detectTools = new DetectTools(this);
    this.detectTools.mount(this.extraTools);

    // events
    this.viewport.addEventListener('pointerdown', (ev) => this.onPointerDown(ev));
    this.viewport.addEventListener('pointermove', (ev) => this.onPointerMove(ev));
    this.viewport.addEventListener('pointerup', (ev) => this.onPointerUp(ev));
    this.viewport.addEventListener('pointercancel', () => this.cancelGesture());
    this.viewport.addEventListener('pointerleave', () => {
      this.hover = null;
      this.renderCursorTag();
    });
    this.viewport.addEventListener('wheel', (ev) => this.onWheel(ev), { passive: false });
    this.viewport.addEventListener('auxclick', (ev) => ev.preventDefault());
    this.onKeyDown = (ev) => this.keydown(ev);
    this.onKeyUp = (ev) => {
      if (ev.key === ' ') {
        this.space = false;
        this.viewport.classList.remove('space');
      }
    };
    document.addEventListener('keydown', this.onKeyDown);
    document.addEventListener('keyup', this.onKeyUp);
    // leaving the page: send what is waiting for its debounce timer now
    this.onHide = () => {
      if (document.visibilityState === 'hidden') {
        this.saveNudge.flush();
        this.saveDist.flush();
      }
    };
    document.addEventListener('visibilitychange', this.onHide);
    this.ro = new ResizeObserver(() => {
      if (this.fitted) this.fit();
      else this.applyTransform();
    });
    this.ro.observe(this.viewport);
    this.saveNudge = debounce(() => {
      this.nudgePending = false;
      saveState.markPending(false);
      this.commitPoints();
    }, 400);
  }

  unmount() {
    this.detectTools?.unmount();
    this.saveNudge.flush();
    this.saveDist.flush();
    document.removeEventListener('keydown', this.onKeyDown);
    document.removeEventListener('keyup', this.onKeyUp);
    document.removeEventListener('visibilitychange', this.onHide);
    this.ro.disconnect();
  }

  get record() {
    return store.image(this.imageId);
  }

  // ---------------------------------------------------------------- image switching
  async showImage(id) {
    if (this.imageId !== id) {
      this.saveNudge.flush();
      this.saveDist.flush();
    }
    const im = store.image(id);
    if (!im) return;
    const changed = this.imageId !== id;
    this.imageId = id;
    if (changed) {
      this.selected = null;
      this.pts = slotsFrom(im);
      this.veil.classList.add('show');
      this.img.classList.add('loading'); // no glimpse of the previous photo at this one's size
      this.img.style.width = `${im.width}px`;
      this.img.style.height = `${im.height}px`;
      this.img.src = urls.imageFile(store.project.id, id);
      if (this.img.complete && this.img.naturalWidth) {
        this.veil.classList.remove('show');
        this.img.classList.remove('loading');
      }
      this.viewport.dataset.imageId = String(id);
      this.viewport.dataset.imageWidth = String(im.width);
      this.viewport.dataset.imageHeight = String(im.height);
      this.viewport.setAttribute('aria-label', `Image ${im.filename}. Click to place the next point.`);
      this.distInput.value = mm(im.deformation_distance);
      this.fit();
    }
    this.renderInspector();
    this.renderOverlay();
  }

  onStore(what, detail) {
    if (what === 'image' && detail && detail.id === this.imageId) {
      if (!this.gesture && !this.nudgePending && !this.hasHole()) this.pts = slotsFrom(detail);
      if (document.activeElement !== this.distInput && !this.distPending) this.distInput.value = mm(detail.deformation_distance);
      this.renderInspector();
      this.renderOverlay();
    } else if (what === 'images') {
      // A reload (e.g. after a scale-length change moved the detected scale points).
      const im = this.record;
      if (!im) return;
      if (!this.gesture && !this.nudgePending && !this.hasHole()) this.pts = slotsFrom(im);
      this.renderInspector();
      this.renderOverlay();
    } else if (what === 'project') {
      // the scale length labels the A–B line
      this.renderInspector();
      this.renderOverlay();
    }
  }

  // ---------------------------------------------------------------- transform
  size() {
    return { w: this.viewport.clientWidth, h: this.viewport.clientHeight };
  }

  fit() {
    const im = this.record;
    if (!im) return;
    const { w, h: hh } = this.size();
    Object.assign(this, fitView(w, hh, im.width, im.height));
    this.fitted = true;
    this.applyTransform();
  }

  fitZoom() {
    const im = this.record;
    if (!im) return 1;
    const { w, h: hh } = this.size();
    return fitZoom(w, hh, im.width, im.height);
  }

  /** Zoom to `z`, keeping the image point under viewport position (cx, cy) fixed. */
  zoomAt(z, cx, cy) {
    const minZ = Math.min(this.fitZoom() * 0.5, 1);
    Object.assign(this, zoomAbout(this, z, cx, cy, minZ));
    this.fitted = false;
    this.applyTransform();
  }

  zoomBy(f) {
    const c = this.hover ?? { x: this.size().w / 2, y: this.size().h / 2 };
    this.zoomAt(this.z * f, c.x, c.y);
  }

  zoomTo(z) {
    const { w, h: hh } = this.size();
    this.zoomAt(z, w / 2, hh / 2);
  }

  applyTransform() {
    this.img.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.z})`;
    this.img.classList.toggle('pixelated', this.z >= 3);
    const d = this.viewport.dataset;
    d.zoom = String(this.z);
    d.tx = String(this.tx);
    d.ty = String(this.ty);
    this.zoomEl.textContent = `${Math.round(this.z * 100)} %`;
    this.renderOverlay();
  }

  toScreen(p) {
    return toScreen(this, p);
  }

  toImage(sx, sy) {
    return toImage(this, sx, sy);
  }

  local(ev) {
    const r = this.viewport.getBoundingClientRect();
    return { x: ev.clientX - r.left, y: ev.clientY - r.top };
  }

  // ---------------------------------------------------------------- points
  nextKey() {
    return nextKey(this.pts);
  }

  hitTest(sx, sy) {
    return hitTest(this.pts, (p) => this.toScreen(p), sx, sy, HIT_RADIUS);
  }

  /** This image's undo history (it outlives the annotator: see points.js). */
  get history() {
    return historyOf(this.imageId);
  }

  /** The points and their provenance (auto + confidence, or manual), to undo back to. */
  snapshot() {
    const im = this.record;
    return JSON.stringify({ pts: this.pts, fmeta: im?.fiducial_meta ?? [], smeta: im?.scale_meta ?? [] });
  }

  pushUndo(snap) {
    this.history.push(snap ?? this.snapshot());
  }

  inBounds(p) {
    const im = this.record;
    return inImage(p, im.width, im.height);
  }

  /** A removed point that the server still has (a hole not yet re-placed), else null. */
  ghost(k) {
    if (this.pts[k]) return null;
    const im = this.record;
    const arr = k[0] === 'f' ? im?.fiducials : im?.scale;
    return toPt(arr?.[Number(k.slice(1))]);
  }

  hasHole() {
    return ORDER.some((k) => this.ghost(k));
  }

  /** Give up re-placing: removed points that the server still has come back. */
  keepOldPositions() {
    const im = this.record;
    if (!im) return;
    this.pts = slotsFrom(im);
    this.renderOverlay();
    this.renderInspector();
  }

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
  }

  select(key) {
    this.selected = key;
    this.renderOverlay();
    this.renderTable();
  }

  removeSelected() {
    const k = this.selected;
    if (!k || !this.pts[k]) return;
    this.pushUndo();
    this.pts[k] = null;
    this.selected = null;
    this.commitPoints();
  }

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
  }

  async clearAll() {
    if (!ORDER.some((k) => this.pts[k])) return;
    const ok = await confirmDialog({ title: 'Clear all points?', message: 'The 5 markers and 2 scale points of this image are removed. You can undo with Ctrl+Z.', confirmLabel: 'Clear points', danger: true });
    if (!ok) return;
    this.pushUndo();
    for (const k of ORDER) this.pts[k] = null;
    this.selected = null;
    this.commitPoints();
  }

  restore(snap) {
    const s = JSON.parse(snap);
    this.pts = s.pts;
    if (this.selected && !this.pts[this.selected]) this.selected = null;
    this.commitPoints(s);
  }

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
  }

  commitPoints(meta) {
    const patch = this.writeRecord(meta);
    this.renderOverlay();
    this.renderInspector();
    if (patch) saveImage(this.imageId, patch);
  }

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
  }

  // ---------------------------------------------------------------- pointer + wheel
  onPointerDown(ev) {
    if (this.gesture) return;
    this.viewport.focus({ preventScroll: true });
    const pos = this.local(ev);
    const panButton = ev.button === 1 || (ev.button === 0 && this.space);
    if (ev.button !== 0 && !panButton) return;
    ev.preventDefault();
    this.viewport.setPointerCapture(ev.pointerId);
    if (panButton) {
      this.gesture = { type: 'pan', id: ev.pointerId, start: pos, tx: this.tx, ty: this.ty };
      this.viewport.classList.add('panning');
      return;
    }
    const hit = this.hitTest(pos.x, pos.y);
    if (hit) {
      const p = this.pts[hit];
      const s = this.toScreen(p);
      this.gesture = { type: 'drag', id: ev.pointerId, key: hit, start: pos, grab: { x: s.x - pos.x, y: s.y - pos.y }, before: this.snapshot(), moved: false };
      this.select(hit);
      this.viewport.classList.add('dragging');
    } else {
      this.gesture = { type: 'press', id: ev.pointerId, start: pos, tx: this.tx, ty: this.ty, clientX: ev.clientX, clientY: ev.clientY };
    }
    this.renderCursorTag();
  }

  onPointerMove(ev) {
    const pos = this.local(ev);
    this.hover = pos;
    const g = this.gesture;
    if (!g || g.id !== ev.pointerId) {
      this.updateHoverCursor(pos);
      this.renderCursorTag();
      return;
    }
    const dx = pos.x - g.start.x;
    const dy = pos.y - g.start.y;
    if (g.type === 'press' && Math.hypot(dx, dy) > CLICK_SLOP) {
      g.type = 'pan';
      this.viewport.classList.add('panning');
    }
    if (g.type === 'pan') {
      this.tx = g.tx + dx;
      this.ty = g.ty + dy;
      this.fitted = false;
      this.applyTransform();
    } else if (g.type === 'drag') {
      if (!g.moved && Math.hypot(dx, dy) < 2) return;
      g.moved = true;
      const p = this.toImage(pos.x + g.grab.x, pos.y + g.grab.y);
      const im = this.record;
      p.x = Math.max(0, Math.min(im.width, p.x));
      p.y = Math.max(0, Math.min(im.height, p.y));
      this.pts[g.key] = p;
      this.renderOverlay();
      this.renderTable();
    }
  }

  onPointerUp(ev) {
    const g = this.gesture;
    if (!g || g.id !== ev.pointerId) return;
    this.gesture = null;
    this.viewport.classList.remove('panning', 'dragging');
    if (this.viewport.hasPointerCapture(ev.pointerId)) this.viewport.releasePointerCapture(ev.pointerId);
    const pos = this.local(ev);
    if (g.type === 'press') {
      // a click on empty space: place the next point where the press started
      this.place(this.toImage(g.start.x, g.start.y));
    } else if (g.type === 'drag' && g.moved) {
      this.pushUndo(g.before);
      this.commitPoints(); // save on drop
    }
    this.updateHoverCursor(pos);
    this.renderCursorTag();
  }

  cancelGesture() {
    const g = this.gesture;
    this.gesture = null;
    this.viewport.classList.remove('panning', 'dragging');
    if (g && g.type === 'drag' && g.moved) {
      this.pts = JSON.parse(g.before);
      this.renderOverlay();
      this.renderTable();
    }
  }

  updateHoverCursor(pos) {
    this.viewport.classList.toggle('over-point', !!this.hitTest(pos.x, pos.y));
  }

  onWheel(ev) {
    ev.preventDefault();
    const pos = this.local(ev);
    this.hover = pos;
    let dy = ev.deltaY;
    if (ev.deltaMode === 1) dy *= 16;
    else if (ev.deltaMode === 2) dy *= this.size().h;
    const f = Math.exp(-Math.max(-300, Math.min(300, dy)) * 0.002);
    this.zoomAt(this.z * f, pos.x, pos.y);
  }

  // ---------------------------------------------------------------- keyboard
  keydown(ev) {
    if (ev.defaultPrevented) return;
    if (document.querySelector('dialog[open]')) return;
    const typing = isTyping(ev.target);
    const mod = ev.ctrlKey || ev.metaKey;
    if (typing) return;
    const k = ev.key;
    if (mod && (k === 'z' || k === 'Z')) {
      ev.preventDefault();
      if (ev.shiftKey) this.doRedo();
      else this.doUndo();
      return;
    }
    if (mod && (k === 'y' || k === 'Y')) {
      ev.preventDefault();
      this.doRedo();
      return;
    }
    if (mod) return;
    const onButton = ev.target instanceof Element && ev.target.closest('button, a, summary');
    // point keys act on the photo, not on the image list or the top bar that has the focus
    const elsewhere = ev.target instanceof Element && ev.target.closest('.sidebar, .appbar');
    switch (k) {
      case 'ArrowLeft':
      case 'ArrowRight':
      case 'ArrowUp':
      case 'ArrowDown': {
        if (!this.selected || elsewhere) return;
        ev.preventDefault();
        const step = ev.shiftKey ? 10 : ev.altKey ? 0.1 : 1;
        const dx = k === 'ArrowLeft' ? -step : k === 'ArrowRight' ? step : 0;
        const dy = k === 'ArrowUp' ? -step : k === 'ArrowDown' ? step : 0;
        this.nudge(dx, dy);
        return;
      }
      case 'Delete':
      case 'Backspace':
        if (!this.selected || elsewhere) return;
        ev.preventDefault();
        this.removeSelected();
        return;
      case 'Escape':
        if (this.hasHole()) {
          ev.preventDefault();
          this.keepOldPositions();
        } else if (this.selected) {
          ev.preventDefault();
          this.select(null);
        }
        return;
      case 'PageDown':
      case ']':
        ev.preventDefault();
        this.ws.step(1);
        return;
      case 'PageUp':
      case '[':
        ev.preventDefault();
        this.ws.step(-1);
        return;
      case '+':
      case '=':
        ev.preventDefault();
        this.zoomBy(1.5);
        return;
      case '-':
      case '_':
        ev.preventDefault();
        this.zoomBy(1 / 1.5);
        return;
      case '0':
      case 'f':
      case 'F':
        ev.preventDefault();
        this.fit();
        return;
      case '1':
        ev.preventDefault();
        this.zoomTo(1);
        return;
      case 'd':
      case 'D':
        ev.preventDefault();
        this.distInput.focus();
        this.distInput.select();
        return;
      case ' ':
        if (onButton) return;
        ev.preventDefault();
        this.space = true;
        this.viewport.classList.add('space');
        return;
      default:
    }
  }

  doUndo() {
    const snap = this.history.back(this.snapshot());
    if (snap) this.restore(snap);
  }

  doRedo() {
    const snap = this.history.forward(this.snapshot());
    if (snap) this.restore(snap);
  }

  // ---------------------------------------------------------------- rendering
  renderOverlay() {
    const svg = this.svg;
    if (!svg) return;
    const g = [];
    // The calibration target's card, where the detector found it.
    const card = store.image(this.imageId)?.target?.outline;
    if (Array.isArray(card) && card.length === 4) {
      const c = card.map((p) => this.toScreen(p));
      g.push(svgEl('polygon', { class: 'target-card', points: c.map((p) => `${p.x},${p.y}`).join(' ') }));
      const t = svgEl('text', { class: 'target-label', x: c[0].x + 6, y: c[0].y - 6 });
      t.textContent = 'calibration target';
      g.push(t);
    }
    const S = (k) => (this.pts[k] ? this.toScreen(this.pts[k]) : null);
    const corners = ['f0', 'f1', 'f2', 'f3'].map(S);
    if (corners.every(Boolean)) {
      g.push(svgEl('polygon', { class: 'quad', points: corners.map((p) => `${p.x},${p.y}`).join(' ') }));
    } else {
      for (let i = 0; i < 3; i++) {
        if (corners[i] && corners[i + 1]) g.push(svgEl('line', { class: 'quad', x1: corners[i].x, y1: corners[i].y, x2: corners[i + 1].x, y2: corners[i + 1].y }));
      }
    }
    const a = S('s0');
    const b = S('s1');
    if (a && b) {
      g.push(svgEl('line', { class: 'scale-halo', x1: a.x, y1: a.y, x2: b.x, y2: b.y }));
      g.push(svgEl('line', { class: 'scale-line', x1: a.x, y1: a.y, x2: b.x, y2: b.y }));
      const L = store.project?.scale_length;
      if (L) {
        const t = svgEl('text', { class: 'scale-len', x: (a.x + b.x) / 2 + 10, y: (a.y + b.y) / 2 });
        t.textContent = `${mm(L)} mm`;
        g.push(t);
      }
    }
    for (const k of ORDER) {
      const gp = this.ghost(k);
      if (!gp) continue;
      const p = this.toScreen(gp);
      const grp = svgEl('g', { class: `pt ghost ${POINT_INFO[k].kind}`, transform: `translate(${p.x} ${p.y})` });
      grp.appendChild(svgEl('circle', { class: 'ring', r: 8 }));
      const label = svgEl('text', { class: 'lbl', x: 11, y: -10 });
      label.textContent = POINT_INFO[k].label;
      grp.appendChild(label);
      g.push(grp);
    }
    const meta = this.metaFor.bind(this);
    for (const k of ORDER) {
      const p = S(k);
      if (!p) continue;
      const info = POINT_INFO[k];
      const m = meta(k);
      const cls = ['pt', info.kind];
      if (k === this.selected) cls.push('selected');
      if (m && m.source === 'auto') cls.push('auto');
      if (m && m.source === 'auto' && typeof m.confidence === 'number' && m.confidence < 0.5) cls.push('low');
      const grp = svgEl('g', { class: cls.join(' '), transform: `translate(${p.x} ${p.y})`, 'data-key': k });
      if (k === this.selected) grp.appendChild(svgEl('circle', { class: 'sel-ring', r: 14 }));
      grp.appendChild(svgEl('circle', { class: 'halo', r: 8 }));
      grp.appendChild(svgEl('circle', { class: 'ring', r: 8 }));
      grp.appendChild(svgEl('path', { class: 'cross', d: 'M-4 0H4M0 -4V4' }));
      const label = svgEl('text', { class: 'lbl', x: 11, y: -10 });
      label.textContent = m && m.source === 'auto' && typeof m.confidence === 'number' ? `${info.label} · ${Math.floor(m.confidence * 100 + 1e-9)}%` : info.label;
      grp.appendChild(label);
      g.push(grp);
    }
    const tag = svgEl('g', { class: 'cursor-tag' });
    this.tagEl = tag;
    g.push(tag);
    svg.replaceChildren(...g);
    this.renderCursorTag();
  }

  metaFor(k) {
    const im = this.record;
    if (!im) return null;
    const i = Number(k.slice(1));
    const arr = k[0] === 'f' ? im.fiducial_meta : im.scale_meta;
    return Array.isArray(arr) ? arr[i] ?? null : null;
  }

  renderCursorTag() {
    const tag = this.tagEl;
    if (!tag) return;
    const key = this.nextKey();
    const pos = this.hover;
    if (!key || !pos || (this.gesture && this.gesture.type !== 'press') || this.space || this.hitTest(pos.x, pos.y)) {
      tag.replaceChildren();
      return;
    }
    const info = POINT_INFO[key];
    const t = svgEl('text', { class: `tag-text ${info.kind}`, x: pos.x + 14, y: pos.y + 24 });
    t.textContent = `${info.label} ${info.kind === 'fiducial' ? info.short : 'scale'}`;
    tag.replaceChildren(t);
  }

  renderInspector() {
    const im = this.record;
    if (!im) return;
    const i = store.indexOf(im.id);
    const n = store.images.length;
    this.titleEl.textContent = im.filename;
    this.titleEl.title = im.filename;
    this.metaEl.textContent = `Image ${i + 1} of ${n} · ${im.width} × ${im.height} px`;
    replace(this.badgeEl, badge(im.status));
    this.posEl.textContent = `${i + 1} / ${n}`;
    this.prevBtn.disabled = i <= 0;
    this.nextBtn.disabled = i >= n - 1;

    const key = this.nextKey();
    if (key) {
      const info = POINT_INFO[key];
      const what = info.kind === 'fiducial' ? `the ${info.name.toLowerCase()} marker (${info.label})` : `scale point ${info.label} on the ruler`;
      const ghost = this.ghost(key);
      replace(
        this.hintEl,
        h(`span.hint-dot.${info.kind}`, { 'aria-hidden': 'true' }, info.label),
        ghost
          ? h('span', null, 'Re-place ', h('strong', null, what), ': click where it belongs. ', h('kbd', null, 'Esc'), ' keeps its old position (dashed).')
          : h('span', null, 'Next: click ', h('strong', null, what), key === 's1' ? `, ${mm(store.project.scale_length)} mm from A` : ''),
      );
      this.hintEl.className = ghost ? 'hint warn' : 'hint';
    } else {
      const noDist = im.deformation_distance === null || im.deformation_distance === undefined;
      replace(this.hintEl, icon('check'), h('span', null, noDist ? 'All 7 points placed. Enter the deformation distance below.' : 'All points placed. Drag a point to adjust it, or go to the next image.'));
      this.hintEl.className = `hint done${noDist ? ' warn' : ''}`;
    }

    const fromName = im.distance_from_filename ?? null;
    if (im.deformation_distance === null || im.deformation_distance === undefined) {
      this.distHelp.textContent = 'Type the deformation of this photo in mm (press D to jump here).';
    } else if (fromName !== null && Math.abs(fromName - im.deformation_distance) < 1e-9) {
      this.distHelp.textContent = 'Read from the file name; change it if it is wrong.';
    } else {
      this.distHelp.textContent = 'Saved as you type.';
    }
    this.renderTable();
  }

  renderTable() {
    const rows = ORDER.map((k) => {
      const info = POINT_INFO[k];
      const p = this.pts[k];
      const isNext = k === this.nextKey();
      const m = this.metaFor(k);
      const tr = h(
        'tr',
        {
          class: [k === this.selected ? 'selected' : '', isNext ? 'next' : '', p ? '' : 'empty'].join(' '),
          dataset: { key: k },
          'aria-selected': k === this.selected ? 'true' : 'false',
        },
        h('td', null, h(`span.swatch.${info.kind}`, null, info.label)),
        h(
          'td',
          null,
          p ? h('button.linklike', { type: 'button', on: { click: () => this.selectAndShow(k) } }, info.name) : h('span', null, info.name),
          m && m.source === 'auto'
            ? typeof m.confidence === 'number' && m.confidence < 0.5
              ? h('span.auto-tag.low', { title: 'Found by automatic detection with a low confidence: check this point' }, `auto ${Math.floor(m.confidence * 100 + 1e-9)}%`)
              : h('span.auto-tag', { title: 'Found by automatic detection' }, `auto ${typeof m.confidence === 'number' ? `${Math.floor(m.confidence * 100 + 1e-9)}%` : ''}`)
            : null,
          isNext ? h('span.next-tag', null, 'next') : null,
        ),
        h('td.num', null, p ? px(p.x) : '—'),
        h('td.num', null, p ? px(p.y) : '—'),
        h(
          'td',
          null,
          p
            ? h('button.icon-btn.danger-text', { type: 'button', 'aria-label': `Remove ${info.name}`, title: 'Remove (Delete)', on: { click: () => { this.selected = k; this.removeSelected(); } } }, icon('x'))
            : null,
        ),
      );
      return tr;
    });
    replace(this.tableBody, rows);

    const a = this.pts.s0;
    const b = this.pts.s1;
    const L = store.project?.scale_length;
    if (a && b) {
      const d = Math.hypot(b.x - a.x, b.y - a.y);
      replace(
        this.scaleInfo,
        h('span.swatch.scale.tiny', { 'aria-hidden': 'true' }),
        `A–B ${fixed(d, 1)} px = ${mm(L)} mm → `,
        h('strong', null, d > 0 ? `${(L / d).toPrecision(4)} mm/px` : 'scale points coincide'),
      );
    } else {
      replace(this.scaleInfo, h('span.muted', null, `Scale: place A and B on the ruler, ${mm(L)} mm apart (set in the top bar).`));
    }
  }

  /** Select a point and pan so that it is visible. */
  selectAndShow(k) {
    this.select(k);
    const p = this.pts[k];
    if (!p) return;
    const s = this.toScreen(p);
    const { w, h: hh } = this.size();
    if (s.x < 20 || s.y < 20 || s.x > w - 20 || s.y > hh - 20) {
      this.tx += w / 2 - s.x;
      this.ty += hh / 2 - s.y;
      this.fitted = false;
      this.applyTransform();
    }
    this.viewport.focus({ preventScroll: true });
  }
}

function svgEl(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}
