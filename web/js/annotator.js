// @ts-check
// The annotator: one image at full resolution in a zoomable, pannable viewport with an SVG
// overlay of the 7 points (5 fiducial markers, 2 scale points).
//
// The pure parts live in their own modules, unit-tested without a browser: the view transform
// in viewmath.js, the point model (slots, API lists, hit testing, undo history) in points.js.
// The DOM parts: this file builds the view and holds the point operations; the input handling
// is in annotator-input.js and the rendering in annotator-render.js (methods mixed into the class).
// The viewport element publishes the transform read-only as data-zoom, data-tx, data-ty (for
// tests and tools), together with data-image-id, data-image-width and data-image-height.
import { urls } from './api.js';
import { debounce, h, icon, SVG_NS } from './dom.js';
import { mm } from './format.js';
import { store } from './state.js';
import { helpDialog, saveState, toast } from './ui.js';
import { DetectTools } from './detect.js';
import { historyOf, slotsFrom } from './points.js';
import { fitView, fitZoom, toImage, toScreen, zoomAbout } from './viewmath.js';
import { inputMethods } from './annotator-input.js';
import { renderMethods } from './annotator-render.js';
import { pointMethods } from './annotator-points.js';

/**
 * The methods of annotator-input.js, annotator-render.js and annotator-points.js as the base class of `Annotator`,
 * so that the type checker knows them (they take `this` as the annotator).
 * @type {new () => typeof inputMethods & typeof renderMethods & typeof pointMethods}
 */
const AnnotatorMethods = /** @type {any} */ (function AnnotatorMethods() {});
Object.assign(AnnotatorMethods.prototype, inputMethods, renderMethods, pointMethods);

/** @typedef {import('./points.js').Pt} Pt */
/** @typedef {import('./points.js').Slots} Slots */
/** @typedef {{x: number, y: number}} ScreenPt a position in viewport CSS pixels */

export class Annotator extends AnnotatorMethods {
  /**
   * @param {HTMLElement} host  the panel the annotator fills
   * @param {{workspace: import('./workspace.js').Workspace}} options
   */
  constructor(host, { workspace }) {
    super();
    this.host = host;
    this.ws = workspace;
    /** @type {number | null} the image shown */
    this.imageId = null;
    /** @type {Slots} the 7 points as shown (a removed point is null) */
    this.pts = slotsFrom({});
    /** @type {string | null} the selected point's key (f0…f4, s0, s1) */
    this.selected = null;
    /** zoom: CSS px per image px */
    this.z = 1;
    /** offset of the image's top-left corner in viewport CSS px */
    this.tx = 0;
    this.ty = 0;
    /** whether the view follows the viewport's size (Fit) */
    this.fitted = true;
    /** @type {any} the pointer gesture under way (annotator-input.js) */
    this.gesture = null;
    this.space = false;
    /** @type {ScreenPt | null} last pointer position in viewport px */
    this.hover = null;
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
  /** @returns {{w: number, h: number}} the viewport's size in CSS px */
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

  /** @returns {number} the zoom at which the whole image fits */
  fitZoom() {
    const im = this.record;
    if (!im) return 1;
    const { w, h: hh } = this.size();
    return fitZoom(w, hh, im.width, im.height);
  }

  /**
   * Zoom to `z`, keeping the image point under viewport position (cx, cy) fixed.
   * @param {number} z
   * @param {number} cx
   * @param {number} cy
   */
  zoomAt(z, cx, cy) {
    const minZ = Math.min(this.fitZoom() * 0.5, 1);
    Object.assign(this, zoomAbout(this, z, cx, cy, minZ));
    this.fitted = false;
    this.applyTransform();
  }

  /** @param {number} f  zoom factor, around the pointer (else the centre) */
  zoomBy(f) {
    const c = this.hover ?? { x: this.size().w / 2, y: this.size().h / 2 };
    this.zoomAt(this.z * f, c.x, c.y);
  }

  /** @param {number} z  zoom around the centre */
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

  /** @param {Pt} p @returns {ScreenPt} */
  toScreen(p) {
    return toScreen(this, p);
  }

  /** @param {number} sx @param {number} sy @returns {Pt} */
  toImage(sx, sy) {
    return toImage(this, sx, sy);
  }

  /** @param {{clientX: number, clientY: number}} ev @returns {ScreenPt} */
  local(ev) {
    const r = this.viewport.getBoundingClientRect();
    return { x: ev.clientX - r.left, y: ev.clientY - r.top };
  }

  // ---------------------------------------------------------------- points (annotator-points.js)
  /** This image's undo history (it outlives the annotator: see points.js). */
  get history() {
    return historyOf(this.imageId);
  }
}
