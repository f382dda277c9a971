// @ts-check
// The annotator's point model, without the DOM: the seven slots of an image (five fiducial
// markers f0–f4, two scale points s0–s1), their conversion from and to the API's lists, hit
// testing, and the undo history of each image. Unit-tested by `node --test e2e/unit`.

/** The slots in placing order. */
export const ORDER = ['f0', 'f1', 'f2', 'f3', 'f4', 's0', 's1'];

/** Label, name and kind of each slot. */
export const POINT_INFO = {
  f0: { label: '0', name: 'Top-left', short: 'TL', kind: 'fiducial' },
  f1: { label: '1', name: 'Top-right', short: 'TR', kind: 'fiducial' },
  f2: { label: '2', name: 'Bottom-right', short: 'BR', kind: 'fiducial' },
  f3: { label: '3', name: 'Bottom-left', short: 'BL', kind: 'fiducial' },
  f4: { label: '4', name: 'Centre', short: 'C', kind: 'fiducial' },
  s0: { label: 'A', name: 'Scale A', short: 'A', kind: 'scale' },
  s1: { label: 'B', name: 'Scale B', short: 'B', kind: 'scale' },
};

/** Most undo steps kept per image. */
export const MAX_UNDO = 200;

/**
 * @typedef {{x: number, y: number}} Pt
 * @typedef {Record<string, Pt | null>} Slots
 */

/** `[x, y]` of the API → a point, or null for anything else. */
export function toPt(v) {
  return Array.isArray(v) && v.length === 2 && Number.isFinite(v[0]) && Number.isFinite(v[1]) ? { x: v[0], y: v[1] } : null;
}

/**
 * An image record's points as the seven slots.
 * @param {{fiducials?: unknown[], scale?: unknown[]}} im
 * @returns {Slots}
 */
export function slotsFrom(im) {
  /** @type {Slots} */
  const pts = {};
  for (let i = 0; i < 5; i++) pts[`f${i}`] = toPt(im.fiducials?.[i]);
  for (let i = 0; i < 2; i++) pts[`s${i}`] = toPt(im.scale?.[i]);
  return pts;
}

/** Coordinates are stored with 3 decimals (the server's rounding). */
export function round3(v) {
  return Math.round(v * 1000) / 1000;
}

/**
 * Slots → the API's list for one role, or null when the list has a hole (a point removed while
 * later points of the same role exist). The API stores contiguous lists (index = meaning), so a
 * hole is not saved: the server keeps the old point until the hole is filled.
 * @param {Slots} pts
 * @param {'f' | 's'} prefix
 * @param {number} n
 */
export function toApi(pts, prefix, n) {
  /** @type {number[][]} */
  const arr = [];
  let hole = false;
  for (let i = 0; i < n; i++) {
    const p = pts[`${prefix}${i}`];
    if (!p) {
      hole = true;
      continue;
    }
    if (hole) return null;
    arr.push([round3(p.x), round3(p.y)]);
  }
  return arr;
}

/**
 * The patch that makes a record's lists match the slots (null when nothing changed), with the
 * provenance of an undo snapshot (`meta`) when its lists have the same length.
 * @param {Slots} pts
 * @param {{fiducials?: unknown, scale?: unknown}} record
 * @param {{fmeta?: unknown[], smeta?: unknown[]} | undefined} meta
 */
export function pointsPatch(pts, record, meta) {
  /** @type {Record<string, unknown>} */
  const patch = {};
  const f = toApi(pts, 'f', 5);
  const s = toApi(pts, 's', 2);
  if (f && JSON.stringify(f) !== JSON.stringify(record.fiducials)) {
    patch.fiducials = f;
    if (meta?.fmeta?.length === f.length) patch.fiducial_meta = meta.fmeta;
  }
  if (s && JSON.stringify(s) !== JSON.stringify(record.scale)) {
    patch.scale = s;
    if (meta?.smeta?.length === s.length) patch.scale_meta = meta.smeta;
  }
  return Object.keys(patch).length ? patch : null;
}

/** The first empty slot, or null when all seven are placed. */
export function nextKey(pts) {
  return ORDER.find((k) => !pts[k]) ?? null;
}

/**
 * The slot whose point is nearest the screen position (sx, sy) within `radius` screen px.
 * @param {Slots} pts
 * @param {(p: Pt) => Pt} toScreen
 */
export function hitTest(pts, toScreen, sx, sy, radius) {
  let best = null;
  let bestD = radius;
  for (const k of ORDER) {
    const p = pts[k];
    if (!p) continue;
    const s = toScreen(p);
    const d = Math.hypot(s.x - sx, s.y - sy);
    if (d <= bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Whether an image point lies on an image of `width` × `height` px. */
export function inImage(p, width, height) {
  return p.x >= 0 && p.y >= 0 && p.x <= width && p.y <= height;
}

/** A point moved by (dx, dy), kept on the image and rounded as stored. */
export function nudged(p, dx, dy, width, height) {
  return {
    x: round3(Math.max(0, Math.min(width, p.x + dx))),
    y: round3(Math.max(0, Math.min(height, p.y + dy))),
  };
}

/** Undo and redo stacks of snapshots (strings), at most {@link MAX_UNDO} undo steps. */
export class History {
  constructor() {
    /** @type {string[]} */
    this.undo = [];
    /** @type {string[]} */
    this.redo = [];
  }

  /** Record the state before an edit; a new edit forgets what was undone. */
  push(snapshot) {
    this.undo.push(snapshot);
    if (this.undo.length > MAX_UNDO) this.undo.shift();
    this.redo.length = 0;
  }

  /** The state to go back to from `current`, or null. */
  back(current) {
    const s = this.undo.pop();
    if (s === undefined) return null;
    this.redo.push(current);
    return s;
  }

  /** The state to go forward to from `current`, or null. */
  forward(current) {
    const s = this.redo.pop();
    if (s === undefined) return null;
    this.undo.push(current);
    return s;
  }
}

/**
 * Undo histories per image id, kept while the page is open: going to the analysis and back, or
 * to another image and back, does not lose them (the annotator itself is rebuilt).
 * @type {Map<number, History>}
 */
const histories = new Map();

/** The history of image `id`. */
export function historyOf(id) {
  let h = histories.get(id);
  if (!h) {
    h = new History();
    histories.set(id, h);
  }
  return h;
}
