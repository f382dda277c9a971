// @ts-check
// The film upload's logic without the DOM (film.js and film-preview.js draw it): which files are
// films and logs (by the server's lists in GET /api/rules), the form fields of a choice of
// frames, the times a choice gives (as the server computes them, src/app/frames.rs), the preview
// strip's thumbnails, and the streamed progress of the decoding (NDJSON lines).
// Unit-tested in e2e/unit/film.test.mjs and e2e/unit/film-model.test.mjs.

/** At most this many frames from one film (the server's MAX_FRAMES). */
export const MAX_FRAMES = 2000;

/**
 * @typedef {object} FileTypes  one entry of GET /api/rules' `uploads`
 * @property {string[]} names
 * @property {string[]} extensions  lower case, without the dot
 * @property {string[]} mime_types
 * @property {string} accept  for an <input type=file>
 */

/**
 * Whether a file is of `types` by its extension or MIME type.
 * @param {{name: string, type?: string}} f
 * @param {FileTypes | undefined} types
 */
export function isOfType(f, types) {
  if (!types) return false;
  const name = String(f.name ?? '');
  const dot = name.lastIndexOf('.');
  const ext = dot >= 0 ? name.slice(dot + 1).toLowerCase() : '';
  return (ext !== '' && types.extensions.includes(ext)) || (!!f.type && types.mime_types.includes(f.type));
}

/**
 * A dropped file is a film, a machine log or something else (a photo, or refused later).
 * @param {{name: string, type?: string}} f
 * @param {{films?: FileTypes, logs?: FileTypes}} uploads  GET /api/rules' `uploads`
 * @returns {'film' | 'log' | 'other'}
 */
export function fileKind(f, uploads) {
  if (isOfType(f, uploads.films)) return 'film';
  if (isOfType(f, uploads.logs)) return 'log';
  return 'other';
}

/**
 * @typedef {object} FilmChoice
 * @property {'every' | 'count' | 'at' | 'log'} mode
 * @property {string} [every]   seconds between frames
 * @property {string} [count]   number of frames
 * @property {string} [at]      times in seconds, separated by commas or spaces
 * @property {string} [step]    with mode 'log': least displacement change between frames, mm
 * @property {string} [offset]  log time − video time, s
 * @property {boolean} hasLog
 * @property {{time?: string, displacement?: string, force?: string}} [columns]
 */

const num = (s) => (s ?? '').trim().replace(',', '.');

/** The times typed in the "at" field (strings, as typed). */
function atList(s) {
  return (s ?? '').split(/[\s,;]+/).filter(Boolean);
}

/**
 * The multipart fields (besides the files) for a choice, checked as the server checks them.
 * Throws an Error whose message says what to fix.
 * @param {FilmChoice} c
 * @returns {Array<[string, string]>}
 */
export function filmFields(c) {
  /** @type {Array<[string, string]>} */
  const out = [];
  const positive = (label, s) => {
    const v = Number(num(s));
    if (!num(s) || !Number.isFinite(v) || v <= 0) throw new Error(`${label} must be a positive number.`);
    return String(v);
  };
  if (c.mode === 'every') out.push(['every', positive('The time between frames', c.every)]);
  else if (c.mode === 'count') {
    const n = Number(num(c.count));
    if (!Number.isInteger(n) || n < 1 || n > MAX_FRAMES) throw new Error(`The number of frames must be a whole number from 1 to ${MAX_FRAMES}.`);
    out.push(['count', String(n)]);
  } else if (c.mode === 'at') {
    const times = atList(c.at);
    if (!times.length) throw new Error('Give the times of the frames in seconds, e.g. 0.5, 1.5, 2.5.');
    for (const t of times) {
      const v = Number(t);
      if (!Number.isFinite(v) || v < 0) throw new Error(`“${t}” is not a time in seconds.`);
    }
    out.push(['at', times.join(',')]);
  } else {
    if (!c.hasLog) throw new Error('Frames at the log’s rows need a log: choose the test machine’s CSV.');
    const step = num(c.step);
    if (step) {
      const v = Number(step);
      if (!Number.isFinite(v) || v < 0) throw new Error('The displacement step must be 0 mm or more.');
      out.push(['log_step', String(v)]);
    }
  }
  const offset = num(c.offset);
  if (offset) {
    const v = Number(offset);
    if (!Number.isFinite(v)) throw new Error('The log offset must be a number of seconds.');
    if (v !== 0) out.push(['log_offset', String(v)]);
  }
  if (c.hasLog) {
    for (const [key, field] of /** @type {const} */ ([['time', 'log_time_column'], ['displacement', 'log_displacement_column'], ['force', 'log_force_column']])) {
      const v = (c.columns?.[key] ?? '').trim();
      if (v) out.push([field, v]);
    }
  }
  return out;
}

/**
 * The video times a choice gives for a film of `duration` s, ascending and without repeats, as
 * the server computes them (src/app/frames.rs: every S s from 0 while before the end; N frames
 * at i·duration/N; the times given). `times` is null when the choice cannot be shown here
 * (the log's rows, or a duration not known) or is not valid yet; `error` then says why when
 * the choice itself is wrong.
 * @param {FilmChoice} c
 * @param {number} duration
 * @returns {{times: number[] | null, error?: string}}
 */
export function selectedTimes(c, duration) {
  if (!(duration > 0) || !Number.isFinite(duration) || c.mode === 'log') return { times: null };
  /** @type {number[]} */
  let times;
  if (c.mode === 'every') {
    const s = Number(num(c.every));
    if (!num(c.every) || !(s > 0) || !Number.isFinite(s)) return { times: null };
    const n = Math.ceil(duration / s);
    if (n > MAX_FRAMES) return { times: null, error: `Every ${s} s over ${duration.toFixed(3)} s is ${n} frames, more than ${MAX_FRAMES}.` };
    times = [];
    for (let i = 0; i < n; i++) if (i * s < duration) times.push(i * s);
  } else if (c.mode === 'count') {
    const n = Number(num(c.count));
    if (!Number.isInteger(n) || n < 1 || n > MAX_FRAMES) return { times: null };
    times = Array.from({ length: n }, (_, i) => (i * duration) / n);
  } else {
    const list = atList(c.at).map(Number);
    if (!list.length || list.some((t) => !Number.isFinite(t) || t < 0)) return { times: null };
    const past = list.find((t) => t > duration);
    if (past !== undefined) return { times: null, error: `The time ${past} s is past the end of the film (${duration.toFixed(3)} s).` };
    times = list;
  }
  return { times: [...new Set(times)].sort((a, b) => a - b) };
}

/**
 * The times of `n` thumbnails over a film of `duration` s: the middle of each of n equal spans.
 * @returns {number[]}
 */
export function thumbTimes(duration, n) {
  if (!(duration > 0) || !(n > 0)) return [];
  return Array.from({ length: n }, (_, i) => ((i + 0.5) * duration) / n);
}

/**
 * How many of `times` fall in each of the `n` equal spans of the film (the last span includes
 * the end).
 * @param {number[]} times
 * @param {number} duration
 * @param {number} n
 * @returns {number[]}
 */
export function timesPerSpan(times, duration, n) {
  const out = new Array(Math.max(0, n)).fill(0);
  if (!(duration > 0) || !(n > 0)) return out;
  for (const t of times) {
    if (!(t >= 0) || t > duration) continue;
    out[Math.min(n - 1, Math.floor((t / duration) * n))]++;
  }
  return out;
}

/** A time for the "at" field: milliseconds at most, no trailing zeros (1.5, 0.042, 3). */
export function timeText(t) {
  return String(Math.round(t * 1000) / 1000);
}

/**
 * The "at" field with time `t` added (kept ascending; a time already there is not repeated).
 * Times typed with a decimal comma are read as the server reads them.
 * @param {string} at
 * @param {number} t
 */
export function withTime(at, t) {
  const list = atList(at).map(Number).filter((v) => Number.isFinite(v) && v >= 0);
  const v = Math.round(t * 1000) / 1000;
  if (!list.includes(v)) list.push(v);
  return list.sort((a, b) => a - b).map(timeText).join(', ');
}

/**
 * Splits a stream of text into lines as it arrives (chunks may end mid-line): `push(chunk)`
 * gives the complete lines so far, `end()` the last line when the stream does not end with a
 * newline. Blank lines and a trailing carriage return are dropped.
 */
export class LineSplitter {
  constructor() {
    this.rest = '';
  }

  /** @param {string} chunk @returns {string[]} */
  push(chunk) {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    return parts.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  }

  /** @returns {string[]} */
  end() {
    const last = this.rest.replace(/\r$/, '');
    this.rest = '';
    return last.trim() ? [last] : [];
  }
}

/**
 * The label of a later stage of the film's import (after the decoding): the detection of the
 * markers, the encoding and saving of the frames.
 * @param {string} stage
 * @param {number} frames
 * @param {string} film  the film's name
 */
export function stageLabel(stage, frames, film) {
  const n = `${frames} frame${frames === 1 ? '' : 's'}`;
  if (stage === 'detect') return `Detecting the markers in the ${n} of ${film}…`;
  if (stage === 'encode') return `Saving the ${n} of ${film}…`;
  return `Working on the ${n} of ${film}…`;
}

/**
 * The label of a decoding progress event `{done, total, time_s}`.
 * @param {{done: number, total: number, time_s?: number}} ev
 */
export function decodeLabel(ev) {
  const t = Number.isFinite(ev.time_s) ? ` (${(/** @type {number} */ (ev.time_s)).toFixed(1)} s)` : '';
  return `Decoding frame ${ev.done} of ${ev.total}${t}`;
}

/**
 * Whether a Content-Security-Policy lets the page play a `blob:` URL in a <video> (the film
 * preview): its `media-src`, else its `default-src`, must list `blob:` (a `*` does not cover
 * it). No policy allows it.
 * @param {string | null | undefined} csp  the header's value
 */
export function cspAllowsBlobMedia(csp) {
  if (!csp || !csp.trim()) return true;
  // several policies (comma-separated headers) must each allow it
  return csp.split(',').every((policy) => {
    /** @type {Map<string, string[]>} */
    const dirs = new Map();
    for (const part of policy.split(';')) {
      const [name, ...sources] = part.trim().split(/\s+/);
      if (name && !dirs.has(name.toLowerCase())) dirs.set(name.toLowerCase(), sources.map((s) => s.toLowerCase()));
    }
    const sources = dirs.get('media-src') ?? dirs.get('default-src');
    return !sources || sources.includes('blob:');
  });
}

/**
 * @typedef {{kind: 'progress', done: number, total: number, time_s?: number}
 *   | {kind: 'stage', stage: string, frames: number}
 *   | {kind: 'done', result: any}
 *   | {kind: 'error', status: number, message: string, body: any}
 *   | {kind: 'unknown', line: string}} FilmEvent
 */

/**
 * One line of the film endpoint's NDJSON answer (POST /api/projects/{id}/video with
 * `Accept: application/x-ndjson`, docs/api.md) as an event.
 * @param {string} line
 * @returns {FilmEvent}
 */
export function parseFilmEvent(line) {
  let v;
  try {
    v = JSON.parse(line);
  } catch {
    return { kind: 'unknown', line };
  }
  if (v && v.event === 'progress' && Number.isFinite(v.done) && Number.isFinite(v.total)) {
    return Number.isFinite(v.time_s) ? { kind: 'progress', done: v.done, total: v.total, time_s: v.time_s } : { kind: 'progress', done: v.done, total: v.total };
  }
  if (v && v.event === 'progress' && typeof v.stage === 'string' && Number.isFinite(v.frames)) return { kind: 'stage', stage: v.stage, frames: v.frames };
  if (v && v.event === 'done') return { kind: 'done', result: v.result ?? null };
  if (v && v.event === 'error') {
    const body = v.error && typeof v.error === 'object' ? v.error : { error: typeof v.error === 'string' ? v.error : 'the film could not be read' };
    const status = Number.isInteger(v.status) ? v.status : 500;
    return { kind: 'error', status, message: typeof body.error === 'string' ? body.error : `the film could not be read (HTTP ${status})`, body };
  }
  return { kind: 'unknown', line };
}
