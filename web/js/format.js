// @ts-check
// Number and text formatting for display. Always a real minus sign (U+2212).

const SUP = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
const MINUS = '\u2212';

function signFix(s) {
  return s.replace(/^-/, MINUS);
}

/**
 * Readable scientific notation: 0.0091001 → "9.100 × 10⁻³"; numbers between 0.1 and 1000
 * are written plainly with the same number of significant digits ("0.9912", "12.35").
 */
export function sci(x, digits = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : `${MINUS}∞`;
  if (x === 0) return '0';
  const ax = Math.abs(x);
  if (ax >= 0.1 && ax < 1000) return signFix(x.toPrecision(digits));
  const [m, e] = x.toExponential(digits - 1).split('e');
  const exp = String(Number(e))
    .split('')
    .map((c) => SUP[c])
    .join('');
  return `${signFix(m)} × 10${exp}`;
}

/** Fixed decimals with a real minus sign; "—" for missing values. */
export function fixed(x, decimals = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : `${MINUS}∞`;
  let s = x.toFixed(decimals);
  if (/^-0\.?0*$/.test(s)) s = s.slice(1); // no "−0.0000"
  return signFix(s);
}

/** A p-value: scientific below 1e-3, else 4 decimals. */
export function pValue(p) {
  if (p === null || p === undefined || Number.isNaN(p)) return '—';
  if (p === 0) return '0';
  if (p < 1e-3) return sci(p, 3);
  return fixed(p, 4);
}

/** A distance in mm for inputs and lists: up to 4 decimals, no trailing zeros. */
export function mm(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '';
  return String(Math.round(x * 10000) / 10000);
}

/** A pixel coordinate for the point table. */
export function px(x) {
  return fixed(x, 1);
}

/** "3 min ago" style relative time from an ISO/RFC 3339 string or unix seconds. */
export function relTime(t) {
  if (t === null || t === undefined || t === '') return '';
  const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  const ms = d.getTime();
  if (Number.isNaN(ms)) return String(t);
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 7) return `${Math.round(s / 86400)} d ago`;
  return d.toLocaleDateString();
}

export function fullTime(t) {
  if (t === null || t === undefined || t === '') return '';
  const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

export const STATUS_CLASS = {
  Complete: 'complete',
  Incomplete: 'incomplete',
  'Missing Distance': 'nodist',
  Missing: 'missing',
};

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** A message as a sentence: first letter upper case. */
export function sentence(s) {
  const t = String(s ?? '');
  return t ? t[0].toUpperCase() + t.slice(1) : t;
}
