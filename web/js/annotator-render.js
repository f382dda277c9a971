// @ts-check
// The annotator's rendering: the SVG overlay of points and the calibration target, the cursor
// tag, the inspector (hint, distance) and the points table. Methods of `Annotator` (annotator.js).
import { h, icon, replace, SVG_NS } from './dom.js';
import { fixed, mm, px } from './format.js';
import { store } from './state.js';
import { badge } from './ui.js';
import { ORDER, POINT_INFO } from './points.js';

/** Rendering methods of the annotator. */
export const renderMethods = {
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
  },

  metaFor(k) {
    const im = this.record;
    if (!im) return null;
    const i = Number(k.slice(1));
    const arr = k[0] === 'f' ? im.fiducial_meta : im.scale_meta;
    return Array.isArray(arr) ? arr[i] ?? null : null;
  },

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
  },

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
  },

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
  },

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
  },
};

function svgEl(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}
