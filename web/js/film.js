// @ts-check
// A film of the test (and the test machine's log) as images of the project: which dropped files
// are films and logs, the dialog that chooses the frames (every S s, N frames, at times, or at
// the log's rows with a displacement step), the log and its time offset, and the form sent to
// POST /api/projects/{id}/video (docs/api.md). The server decodes, names each frame
// `<film>-t<seconds>s.png`, reads the log at its time and detects the markers along the film.
import { api } from './api.js';
import { h, icon } from './dom.js';

/** Film files by name (the server decodes MP4/MOV with H.264/HEVC, AVI, MKV…). */
export const FILM_NAME = /\.(mp4|m4v|mov|avi|mkv|webm|mts|3gp)$/i;
/** Machine logs by name. */
export const LOG_NAME = /\.(csv|tsv|txt)$/i;
/** What the file picker offers besides images. */
export const FILM_ACCEPT = 'video/*,.mp4,.m4v,.mov,.avi,.mkv,.webm,.csv,.tsv,.txt,text/csv';

/**
 * @param {{name: string, type?: string}} f
 * @returns {'film' | 'log' | 'other'}
 */
export function fileKind(f) {
  if (FILM_NAME.test(f.name) || /^video\//.test(f.type ?? '')) return 'film';
  if (LOG_NAME.test(f.name) || f.type === 'text/csv') return 'log';
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
    if (!Number.isInteger(n) || n < 1 || n > 2000) throw new Error('The number of frames must be a whole number from 1 to 2000.');
    out.push(['count', String(n)]);
  } else if (c.mode === 'at') {
    const times = (c.at ?? '').split(/[\s,;]+/).filter(Boolean);
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
 * Ask how to take frames from `film`. Resolves `{fields, log}` or null when cancelled.
 * @param {File} film
 * @param {File | null} log  a log dropped with the film
 * @returns {Promise<{fields: Array<[string, string]>, log: File | null} | null>}
 */
export function filmDialog(film, log) {
  return new Promise((resolve) => {
    let chosenLog = log;
    const radio = (value, checked) => h('input', { type: 'radio', name: 'film-mode', value, id: `film-mode-${value}`, checked });
    const modes = { every: radio('every', !log), count: radio('count', false), at: radio('at', false), log: radio('log', !!log) };
    const input = (id, attrs) => h('input.input.num', { type: 'text', inputmode: 'decimal', autocomplete: 'off', id, ...attrs });
    const every = input('film-every', { props: { value: '1' }, 'aria-label': 'Seconds between frames' });
    const count = input('film-count', { props: { value: '10' }, inputmode: 'numeric', 'aria-label': 'Number of frames' });
    const at = h('input.input', { type: 'text', id: 'film-at', autocomplete: 'off', placeholder: '0.5, 1.5, 2.5', 'aria-label': 'Times in seconds' });
    const step = input('film-step', { props: { value: '0' }, 'aria-label': 'Least displacement change between frames, mm' });
    const offset = input('film-offset', { props: { value: '0' }, 'aria-describedby': 'film-offset-help' });
    const logName = h('span.small', { id: 'film-log-name' }, log ? log.name : 'none');
    const logInput = h('input.sr-only', { type: 'file', accept: '.csv,.tsv,.txt,text/csv', id: 'film-log', tabindex: '-1', 'aria-label': 'Test machine log (CSV)' });
    const clearLog = h('button.btn.small.ghost', { type: 'button', id: 'film-log-clear', hidden: !log }, 'Remove');
    const col = (id, label) => h('label.field', null, h('span.field-label', null, label), h('input.input', { type: 'text', id, autocomplete: 'off', placeholder: 'detected' }));
    const columns = h(
      'details.film-columns',
      null,
      h('summary.small', null, 'Log columns (name in the header or 0-based index)'),
      h('div.film-grid', null, col('film-col-time', 'Time'), col('film-col-disp', 'Displacement'), col('film-col-force', 'Force')),
    );
    const error = h('p.small.film-error', { role: 'alert', id: 'film-error' });
    const syncLog = () => {
      logName.textContent = chosenLog ? chosenLog.name : 'none';
      clearLog.hidden = !chosenLog;
      modes.log.disabled = !chosenLog;
      if (!chosenLog && modes.log.checked) modes.every.checked = true;
    };
    logInput.addEventListener('change', () => {
      chosenLog = logInput.files?.[0] ?? chosenLog;
      syncLog();
    });
    clearLog.addEventListener('click', () => {
      chosenLog = null;
      syncLog();
    });
    const row = (mode, ...content) => h('label.film-mode', null, modes[mode], ...content);
    const ok = h('button.btn.primary', { type: 'submit', value: 'ok', id: 'film-ok' }, icon('upload'), 'Extract frames');
    const cancel = h('button.btn', { type: 'button', id: 'film-cancel' }, 'Cancel');
    const form = h(
      'form.dialog-body',
      { method: 'dialog', id: 'film-dialog-form' },
      h('h2', null, 'Frames from a film'),
      h('p.small.muted', null, h('strong', null, film.name), ` (${(film.size / 1048576).toFixed(1)} MiB): each chosen frame becomes an image named after its time; the markers are detected in the first and tracked through the others.`),
      h(
        'fieldset.film-modes',
        null,
        h('legend.field-label', null, 'Which frames'),
        row('every', 'Every', every, h('span.unit', null, 's')),
        row('count', count, h('span.unit', null, 'frames, evenly spaced')),
        row('at', 'At', at, h('span.unit', null, 's')),
        row('log', 'At the log’s rows, displacement step', step, h('span.unit', null, 'mm')),
      ),
      h(
        'div.field',
        null,
        h('span.field-label', null, 'Test machine log (CSV of time, displacement, force)'),
        h('div.film-log', null, logName, h('button.btn.small', { type: 'button', id: 'film-log-pick', on: { click: () => logInput.click() } }, 'Choose…'), clearLog, logInput),
      ),
      h(
        'label.field',
        null,
        h('span.field-label', null, 'Log offset'),
        h('span.input-unit.film-offset', null, offset, h('span.unit', null, 's')),
        h('span.small.muted', { id: 'film-offset-help' }, 'Log time − video time: the frame at video time t reads the log at t + offset.'),
      ),
      columns,
      error,
      h('div.dialog-actions', null, cancel, ok),
    );
    syncLog();
    const dlg = h('dialog.dialog', { 'aria-label': 'Frames from a film', id: 'film-dialog' }, form);
    let result = null;
    form.addEventListener('submit', (ev) => {
      const mode = /** @type {FilmChoice['mode']} */ (Object.entries(modes).find(([, r]) => r.checked)?.[0] ?? 'every');
      try {
        const fields = filmFields({
          mode,
          every: every.value,
          count: count.value,
          at: at.value,
          step: step.value,
          offset: offset.value,
          hasLog: !!chosenLog,
          columns: {
            time: /** @type {HTMLInputElement} */ (form.querySelector('#film-col-time')).value,
            displacement: /** @type {HTMLInputElement} */ (form.querySelector('#film-col-disp')).value,
            force: /** @type {HTMLInputElement} */ (form.querySelector('#film-col-force')).value,
          },
        });
        result = { fields, log: chosenLog };
      } catch (e) {
        ev.preventDefault();
        error.textContent = e instanceof Error ? e.message : String(e);
      }
    });
    cancel.addEventListener('click', () => dlg.close('cancel'));
    dlg.addEventListener('close', () => {
      setTimeout(() => dlg.remove(), 0);
      resolve(dlg.returnValue === 'ok' ? result : null);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    ok.focus();
  });
}

/**
 * Choose the frames of `film`, upload it (with `log`) and show the progress in `progressEl`:
 * the upload's percentage, then the server's decoding and detection. Resolves the server's
 * answer (`images`, `frames`, `project`…) or null when the dialog was cancelled; rejects with
 * the server's error (an ApiError whose message names the file, the limit or the log line).
 * @param {{projectId: number, film: File, log: File | null, progressEl: HTMLElement, track?: (p: Promise<any>) => Promise<any>}} o
 */
export async function uploadFilm({ projectId, film, log, progressEl, track = (p) => p }) {
  const choice = await filmDialog(film, log);
  if (!choice) return null;
  const fill = h('div.progress-fill');
  const bar = h('div.progress', { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-label': 'Film upload' }, fill);
  const label = h('span.small', { id: 'film-progress' });
  progressEl.replaceChildren(label, bar);
  progressEl.hidden = false;
  const show = (fraction) => {
    const pct = Math.round(100 * fraction);
    if (fraction < 1) {
      label.textContent = `Uploading ${film.name}: ${pct} %`;
      bar.classList.remove('busy');
    } else {
      label.textContent = `Decoding the frames of ${film.name} and detecting the markers…`;
      bar.classList.add('busy');
    }
    bar.setAttribute('aria-valuenow', String(pct));
    fill.style.width = `${pct}%`;
  };
  show(0);
  try {
    return await track(api.uploadFilm(projectId, film, choice.log, choice.fields, show));
  } finally {
    progressEl.hidden = true;
  }
}
