// @ts-check
// The ordered image list in the sidebar. Virtualised (only visible rows exist in the DOM), so
// that a project of 10 000 images stays fast. Reorder by dragging a row or with the ↑/↓
// buttons; delete with ✕ (after confirmation).
import { urls } from './api.js';
import { h, icon } from './dom.js';
import { mm, STATUS_CLASS } from './format.js';
import { store } from './state.js';

const ROW = 64; // px, must match .vrow height in style.css
const OVERSCAN = 6;

export class ImageList {
  constructor(host, { projectId, onMove, onDelete }) {
    this.host = host;
    this.projectId = projectId;
    this.onMove = onMove;
    this.onDelete = onDelete;
    this.current = null;
    this.rows = new Map(); // index -> element
    this.spacer = h('div.vspacer');
    this.marker = h('div.drop-marker', { hidden: true });
    this.host.append(this.spacer, this.marker);
    this.onScroll = () => this.paint();
    this.host.addEventListener('scroll', this.onScroll, { passive: true });
    this.ro = new ResizeObserver(() => this.paint());
    this.ro.observe(this.host);
    this.dragId = null;
    this.installDnD();
  }

  destroy() {
    this.ro.disconnect();
    this.host.removeEventListener('scroll', this.onScroll);
  }

  render() {
    for (const el of this.rows.values()) el.remove();
    this.rows.clear();
    this.spacer.style.height = `${store.images.length * ROW}px`;
    this.paint();
  }

  paint() {
    const n = store.images.length;
    const top = this.host.scrollTop;
    const height = this.host.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(n - 1, Math.ceil((top + height) / ROW) + OVERSCAN);
    for (const [i, el] of this.rows) {
      if (i < first || i > last || store.images[i]?.id !== Number(el.dataset.imageId)) {
        el.remove();
        this.rows.delete(i);
      }
    }
    for (let i = first; i <= last; i++) {
      if (!this.rows.has(i)) {
        const el = this.buildRow(store.images[i], i);
        this.rows.set(i, el);
        this.host.appendChild(el);
      }
    }
  }

  buildRow(im, i) {
    const pid = this.projectId;
    const current = im.id === this.current;
    const thumb = h('img.thumb', { src: urls.thumbnail(pid, im.id), alt: '', loading: 'lazy', decoding: 'async', draggable: 'false', width: 44, height: 44 });
    let dist = im.deformation_distance === null || im.deformation_distance === undefined ? 'no distance' : `${mm(im.deformation_distance)} mm`;
    // A film's frame: the test machine's force at its time (from the log).
    if (Number.isFinite(im.force_n)) dist += ` · ${Math.round(im.force_n)} N`;
    const link = h(
      'a.vrow-link',
      { href: `#/project/${pid}/image/${im.id}`, draggable: 'false', title: Number.isFinite(im.time_s) ? `${im.filename} (t = ${im.time_s.toFixed(3)} s in the film)` : im.filename, 'aria-current': current ? 'true' : null },
      h('span.vrow-n', null, String(i + 1)),
      thumb,
      h('span.vrow-text', null, h('span.vrow-name', null, im.filename), h('span.vrow-meta', null, h(`span.badge.tiny.${STATUS_CLASS[im.status] ?? 'missing'}`, null, im.status), h('span', null, dist))),
    );
    const up = h('button.icon-btn', { type: 'button', 'aria-label': `Move ${im.filename} up`, title: 'Move up', disabled: i === 0 }, icon('up'));
    const down = h('button.icon-btn', { type: 'button', 'aria-label': `Move ${im.filename} down`, title: 'Move down', disabled: i === store.images.length - 1 }, icon('down'));
    const del = h('button.icon-btn.danger-text', { type: 'button', 'aria-label': `Delete ${im.filename}`, title: 'Delete image' }, icon('trash'));
    up.addEventListener('click', () => this.onMove(im.id, store.indexOf(im.id) - 1));
    down.addEventListener('click', () => this.onMove(im.id, store.indexOf(im.id) + 1));
    del.addEventListener('click', () => this.onDelete(im.id));
    const el = h(
      'div.vrow',
      { role: 'listitem', draggable: 'true', dataset: { imageId: im.id, index: i }, class: current ? 'current' : null },
      h('span.grip', { 'aria-hidden': 'true' }, icon('grip')),
      link,
      h('span.vrow-actions', null, up, down, del),
    );
    el.style.transform = `translateY(${i * ROW}px)`;
    return el;
  }

  /** Re-render the row of one image (status, distance changed). */
  updateRow(im) {
    if (!im) return;
    const i = store.indexOf(im.id);
    const old = this.rows.get(i);
    if (!old) return;
    const el = this.buildRow(store.images[i], i);
    old.replaceWith(el);
    this.rows.set(i, el);
  }

  setCurrent(id) {
    this.current = id;
    for (const el of this.rows.values()) {
      const on = Number(el.dataset.imageId) === id;
      el.classList.toggle('current', on);
      const a = el.querySelector('a');
      if (on) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
    if (id !== null && id !== undefined) this.scrollIntoView(store.indexOf(id));
  }

  scrollIntoView(i) {
    if (i < 0) return;
    const top = i * ROW;
    const h0 = this.host.clientHeight;
    if (top < this.host.scrollTop) this.host.scrollTop = top;
    else if (top + ROW > this.host.scrollTop + h0) this.host.scrollTop = top + ROW - h0;
  }

  focusRow(id) {
    const i = store.indexOf(id);
    this.scrollIntoView(i);
    this.paint();
    this.rows.get(i)?.querySelector('a')?.focus();
  }

  installDnD() {
    const MIME = 'application/x-strain-seer-image';
    this.host.addEventListener('dragstart', (ev) => {
      const row = ev.target.closest?.('.vrow');
      if (!row) return;
      this.dragId = Number(row.dataset.imageId);
      ev.dataTransfer.setData(MIME, String(this.dragId));
      ev.dataTransfer.effectAllowed = 'move';
      row.classList.add('dragging');
    });
    this.host.addEventListener('dragend', (ev) => {
      ev.target.closest?.('.vrow')?.classList.remove('dragging');
      this.dragId = null;
      this.marker.hidden = true;
    });
    const targetIndex = (ev) => {
      const r = this.host.getBoundingClientRect();
      const y = ev.clientY - r.top + this.host.scrollTop;
      return Math.max(0, Math.min(store.images.length, Math.round(y / ROW)));
    };
    this.host.addEventListener('dragover', (ev) => {
      if (this.dragId === null || ![...ev.dataTransfer.types].includes(MIME)) return;
      ev.preventDefault();
      ev.stopPropagation();
      ev.dataTransfer.dropEffect = 'move';
      const t = targetIndex(ev);
      this.marker.hidden = false;
      this.marker.style.transform = `translateY(${t * ROW - 1}px)`;
      // auto-scroll near the edges
      const r = this.host.getBoundingClientRect();
      if (ev.clientY < r.top + 30) this.host.scrollTop -= 12;
      else if (ev.clientY > r.bottom - 30) this.host.scrollTop += 12;
    });
    this.host.addEventListener('drop', (ev) => {
      if (this.dragId === null) return;
      ev.preventDefault();
      ev.stopPropagation();
      const id = this.dragId;
      const from = store.indexOf(id);
      let to = targetIndex(ev);
      if (to > from) to -= 1; // the row leaves its old slot first
      this.marker.hidden = true;
      this.dragId = null;
      if (to !== from) this.onMove(id, to);
    });
  }
}
