// @ts-check
// A film of the test (and the test machine's log) as images of the project: which dropped files
// are films and logs, the dialog that chooses the frames (every S s, N frames, at times, or at
// the log's rows with a displacement step), the log and its time offset, and the form sent to
// POST /api/projects/{id}/video (docs/api.md). The server decodes, names each frame
// `<film>-t<seconds>s.png`, reads the log at its time and detects the markers along the film.
import { api } from './api.js';
import { h, icon } from './dom.js';
import { decodeLabel, filmFields, selectedTimes, stageLabel, withTime } from './film-model.js';
import { filmPreview } from './film-preview.js';
import { maxFilmSeconds, uploads } from './rules.js';


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
    const logInput = h('input.sr-only', { type: 'file', accept: uploads().logs.accept, id: 'film-log', tabindex: '-1', 'aria-label': 'Test machine log (CSV)' });
    const clearLog = h('button.btn.small.ghost', { type: 'button', id: 'film-log-clear', hidden: !log }, 'Remove');
    const col = (id, label) => h('label.field', null, h('span.field-label', null, label), h('input.input', { type: 'text', id, autocomplete: 'off', placeholder: 'detected' }));
    const columns = h(
      'details.film-columns',
      null,
      h('summary.small', null, 'Log columns (name in the header or 0-based index)'),
      h('div.film-grid', null, col('film-col-time', 'Time'), col('film-col-disp', 'Displacement'), col('film-col-force', 'Force')),
    );
    const error = h('p.small.film-error', { role: 'alert', id: 'film-error' });
    const mode = () => /** @type {import('./film-model.js').FilmChoice['mode']} */ (Object.entries(modes).find(([, r]) => r.checked)?.[0] ?? 'every');
    const preview = filmPreview(film, {
      maxSeconds: maxFilmSeconds(),
      selection: (duration) => {
        const sel = selectedTimes({ mode: mode(), every: every.value, count: count.value, at: at.value, hasLog: !!chosenLog }, duration);
        error.textContent = sel.error ?? '';
        return sel.times;
      },
      onAddTime: (t) => {
        modes.at.checked = true;
        at.value = withTime(at.value, t);
        preview.update();
      },
    });
    for (const input of [every, count, at, ...Object.values(modes)]) input.addEventListener('input', () => preview.update());
    const syncLog = () => {
      logName.textContent = chosenLog ? chosenLog.name : 'none';
      clearLog.hidden = !chosenLog;
      modes.log.disabled = !chosenLog;
      if (!chosenLog && modes.log.checked) modes.every.checked = true;
      preview.update();
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
      'form.dialog-body.wide',
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
      preview.el,
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
      try {
        const fields = filmFields({
          mode: mode(),
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
      preview.close();
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
  let decoding = false;
  const set = (text, fraction, busy) => {
    const pct = Math.round(100 * fraction);
    label.textContent = text;
    bar.classList.toggle('busy', busy);
    bar.setAttribute('aria-valuenow', String(pct));
    bar.setAttribute('aria-label', decoding ? 'Film decoding' : 'Film upload');
    fill.style.width = `${pct}%`;
  };
  /** The upload's progress; once sent, the server decodes (a bar per frame when it streams). */
  const show = (fraction) => {
    if (decoding) return;
    if (fraction < 1) set(`Uploading ${film.name}: ${Math.round(100 * fraction)} %`, fraction, false);
    else set(`Decoding the frames of ${film.name} and detecting the markers…`, 1, true);
  };
  /** @param {{done: number, total: number, time_s?: number} | {stage: string, frames: number}} ev */
  const decoded = (ev) => {
    decoding = true;
    if ('stage' in ev) {
      set(stageLabel(ev.stage, ev.frames, film.name), 1, true);
      return;
    }
    const fraction = ev.total > 0 ? Math.min(1, ev.done / ev.total) : 0;
    set(decodeLabel(ev), fraction, false); // then the server names its next stage
  };
  show(0);
  try {
    return await track(api.uploadFilm(projectId, film, choice.log, choice.fields, show, decoded));
  } finally {
    progressEl.hidden = true;
  }
}
