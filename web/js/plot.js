// @ts-check
// Plots of one strain component against the deformation distance, drawn as SVG in the page
// from the analysis the server just computed (so they are never stale): points with their ±1σ
// error bars, the least-squares line, and its equation. The server's plot endpoint gives the
// same plot as an SVG/PNG file for download.
import { SVG_NS } from './dom.js';
import { fixed, sci } from './format.js';

/** Where each component key's value lives in `measures` (and in `uncertainty`). */
const PATHS = {
  eps_xx: ['small', 'xx'],
  eps_yy: ['small', 'yy'],
  eps_xy: ['small', 'xy'],
  gamma_xy: ['small', 'xy', 2],
  exx: ['green', 'xx'],
  eyy: ['green', 'yy'],
  exy: ['green', 'xy'],
  hencky_xx: ['hencky', 'xx'],
  hencky_yy: ['hencky', 'yy'],
  hencky_xy: ['hencky', 'xy'],
  eps1: ['small_principal', 'e1'],
  eps2: ['small_principal', 'e2'],
  eps_angle: ['small_principal', 'angle_deg'],
  eps_max_shear: ['small_principal', 'max_shear'],
  e1: ['green_principal', 'e1'],
  e2: ['green_principal', 'e2'],
  e_angle: ['green_principal', 'angle_deg'],
  e_max_shear: ['green_principal', 'max_shear'],
  h1: ['hencky_principal', 'e1'],
  h2: ['hencky_principal', 'e2'],
  h_angle: ['hencky_principal', 'angle_deg'],
  h_max_shear: ['hencky_principal', 'max_shear'],
  j: ['j'],
  rotation: ['rotation_deg'],
};

export function componentValue(measures, key) {
  const p = PATHS[key];
  if (!p || !measures) return NaN;
  if (p.length === 1) return Number(measures[p[0]]);
  const v = Number(measures[p[0]]?.[p[1]]);
  return p[2] ? v * p[2] : v;
}

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo, hi, target = 5) {
  if (!(hi > lo)) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step + 1e-9) * step;
  const out = [];
  for (let v = start; v <= hi + step * 0.5 + 1e-12 && out.length < 40; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  if (out[out.length - 1] < hi - 1e-12) out.push(out[out.length - 1] + step);
  return { values: out, step };
}

function el(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function tickLabel(v, step) {
  if (v === 0) return '0';
  const a = Math.abs(step);
  if (a >= 1 && Math.abs(v) < 1e5) return fixed(v, 0);
  if (a >= 0.001 && Math.abs(v) < 1e4) return fixed(v, Math.min(6, Math.max(0, -Math.floor(Math.log10(a) + 1e-9))));
  return sci(v, 2);
}

/**
 * Draw one plot. rows: analysis rows; key: component key; reg: its regression; label: string
 * for the y axis. Returns an <svg> element with a <title> for assistive technology.
 */
export function strainPlot({ rows, key, reg, label, refId }) {
  const pts = rows
    .map((r) => ({ x: Number(r.deformation), y: componentValue(r.measures, key), e: Math.abs(componentValue(r.uncertainty, key)), ref: r.image_id === refId, name: r.name }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const title = `${label} against deformation distance: ${pts.length} points${reg ? `, fitted slope ${sci(reg.slope)} per mm, r² ${fixed(reg.r_squared, 4)}` : ''}`;
  return xyPlot({ pts, fit: reg, title, xLabel: 'Deformation distance (mm)', yLabel: label, pointText: (p) => `${p.name}: d = ${p.x} mm, ${label} = ${fixed(p.y, 5)} ± ${fixed(p.e, 5)}` });
}

/**
 * A scatter plot with ±1σ bars (`e`, where finite), the reference point open, and the fitted
 * line `intercept + slope · x` over the points' x range.
 * @param {{pts: Array<{x: number, y: number, e: number, ref: boolean, name: string}>, fit?: {slope: number, intercept: number} | null, title: string, xLabel: string, yLabel: string, pointText: (p: {x: number, y: number, e: number, name: string}) => string}} o
 */
export function xyPlot({ pts, fit, title, xLabel, yLabel, pointText }) {
  const W = 340;
  const H = 240;
  const M = { l: 54, r: 12, t: 12, b: 40 };
  const reg = fit;
  const label = yLabel;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'plot', role: 'img' });
  svg.appendChild(el('title', {}, title));
  if (!pts.length) return svg;
  const xs = pts.map((p) => p.x);
  const ylo = Math.min(...pts.map((p) => p.y - (Number.isFinite(p.e) ? p.e : 0)), 0);
  const yhi = Math.max(...pts.map((p) => p.y + (Number.isFinite(p.e) ? p.e : 0)), 0);
  const tx = ticks(Math.min(...xs), Math.max(...xs));
  const ty = ticks(ylo, yhi);
  // a little room around the data so that no point sits on the frame
  const xpad = (tx.values[tx.values.length - 1] - tx.values[0]) * 0.04;
  const ypad = (ty.values[ty.values.length - 1] - ty.values[0]) * 0.04;
  const x0 = tx.values[0] - xpad;
  const x1 = tx.values[tx.values.length - 1] + xpad;
  const y0 = ty.values[0] - ypad;
  const y1 = ty.values[ty.values.length - 1] + ypad;
  const X = (v) => M.l + ((v - x0) / (x1 - x0 || 1)) * (W - M.l - M.r);
  const Y = (v) => H - M.b - ((v - y0) / (y1 - y0 || 1)) * (H - M.t - M.b);

  const grid = el('g', { class: 'grid' });
  for (const v of ty.values) {
    grid.appendChild(el('line', { x1: M.l, x2: W - M.r, y1: Y(v), y2: Y(v), class: v === 0 ? 'zero' : '' }));
    grid.appendChild(el('text', { x: M.l - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' }, tickLabel(v, ty.step)));
  }
  for (const v of tx.values) {
    grid.appendChild(el('line', { x1: X(v), x2: X(v), y1: M.t, y2: H - M.b }));
    grid.appendChild(el('text', { x: X(v), y: H - M.b + 16, 'text-anchor': 'middle', class: 'tick' }, tickLabel(v, tx.step)));
  }
  svg.appendChild(grid);
  svg.appendChild(el('rect', { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, class: 'frame' }));
  svg.appendChild(el('text', { x: (M.l + W - M.r) / 2, y: H - 8, 'text-anchor': 'middle', class: 'axis-label' }, xLabel));
  svg.appendChild(el('text', { x: 13, y: (M.t + H - M.b) / 2, 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 13 ${(M.t + H - M.b) / 2})` }, label));

  if (reg && Number.isFinite(reg.slope) && Number.isFinite(reg.intercept)) {
    const fx0 = Math.min(...xs);
    const fx1 = Math.max(...xs);
    svg.appendChild(el('line', { x1: X(fx0), y1: Y(reg.intercept + reg.slope * fx0), x2: X(fx1), y2: Y(reg.intercept + reg.slope * fx1), class: 'fit' }));
  }
  const dots = el('g', { class: 'points' });
  for (const p of pts) {
    const g = el('g', { class: p.ref ? 'ref' : '' });
    if (Number.isFinite(p.e) && p.e > 0) {
      g.appendChild(el('line', { x1: X(p.x), x2: X(p.x), y1: Y(p.y - p.e), y2: Y(p.y + p.e), class: 'err' }));
      g.appendChild(el('line', { x1: X(p.x) - 4, x2: X(p.x) + 4, y1: Y(p.y - p.e), y2: Y(p.y - p.e), class: 'err' }));
      g.appendChild(el('line', { x1: X(p.x) - 4, x2: X(p.x) + 4, y1: Y(p.y + p.e), y2: Y(p.y + p.e), class: 'err' }));
    }
    const c = el('circle', { cx: X(p.x), cy: Y(p.y), r: 4.2 });
    c.appendChild(el('title', {}, pointText(p)));
    g.appendChild(c);
    dots.appendChild(g);
  }
  svg.appendChild(dots);
  return svg;
}
