// @ts-check
// The annotator's input handling: pointer (place, drag, pan), wheel zoom and the keyboard.
// Methods of `Annotator` (annotator.js), kept apart so that each file has one job.
import { isTyping } from './dom.js';

const CLICK_SLOP = 4; // screen px a press may move and still count as a click

/** Pointer, wheel and keyboard methods of the annotator. */
export const inputMethods = {
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
  },

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
  },

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
  },

  cancelGesture() {
    const g = this.gesture;
    this.gesture = null;
    this.viewport.classList.remove('panning', 'dragging');
    if (g && g.type === 'drag' && g.moved) {
      this.pts = JSON.parse(g.before);
      this.renderOverlay();
      this.renderTable();
    }
  },

  updateHoverCursor(pos) {
    this.viewport.classList.toggle('over-point', !!this.hitTest(pos.x, pos.y));
  },

  onWheel(ev) {
    ev.preventDefault();
    const pos = this.local(ev);
    this.hover = pos;
    let dy = ev.deltaY;
    if (ev.deltaMode === 1) dy *= 16;
    else if (ev.deltaMode === 2) dy *= this.size().h;
    const f = Math.exp(-Math.max(-300, Math.min(300, dy)) * 0.002);
    this.zoomAt(this.z * f, pos.x, pos.y);
  },

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
  },

  doUndo() {
    const snap = this.history.back(this.snapshot());
    if (snap) this.restore(snap);
  },

  doRedo() {
    const snap = this.history.forward(this.snapshot());
    if (snap) this.restore(snap);
  },

};
