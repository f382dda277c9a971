// @ts-check
// Shared UI pieces: toasts, the save indicator, modal dialogs.
import { h, icon } from './dom.js';
import { sentence, STATUS_CLASS } from './format.js';

// ---------- toasts ----------
const toastRegion = () => document.getElementById('toasts');

/**
 * Show a non-blocking message.
 * @param {string} message
 * @param {'error' | 'ok' | 'info'} [kind]
 * @param {{timeout?: number}} [options]
 */
export function toast(message, kind = 'info', { timeout } = {}) {
  const region = toastRegion();
  if (!region) return;
  const close = h('button.toast-close', { type: 'button', 'aria-label': 'Dismiss' }, icon('x'));
  const el = h(
    `div.toast.${kind}`,
    { role: kind === 'error' ? 'alert' : 'status' },
    icon(kind === 'error' ? 'alert' : kind === 'ok' ? 'check' : 'info'),
    h('span.toast-text', null, sentence(message)),
    close,
  );
  const remove = () => {
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 180);
  };
  close.addEventListener('click', remove);
  region.appendChild(el);
  while (region.children.length > 4) region.firstElementChild.remove();
  setTimeout(remove, timeout ?? (kind === 'error' ? 9000 : 3500));
}

export function toastError(e) {
  if (e && e.name === 'AbortError') return;
  toast(e && e.message ? e.message : String(e), 'error');
}

// ---------- save indicator ----------
let inFlight = 0;
let failed = false;
let pending = 0;
let savedTimer = null;

function renderSave() {
  const el = document.getElementById('save-state');
  if (!el) return;
  el.classList.remove('saving', 'saved', 'error', 'idle');
  clearTimeout(savedTimer);
  if (inFlight > 0 || pending > 0) {
    el.classList.add('saving');
    el.replaceChildren(h('span.spinner', { 'aria-hidden': 'true' }), 'Saving…');
  } else if (failed) {
    el.classList.add('error');
    el.replaceChildren(icon('alert'), 'Not saved');
  } else {
    el.classList.add('saved');
    el.replaceChildren(icon('check'), 'Saved');
    savedTimer = setTimeout(() => el.classList.add('idle'), 2500);
  }
}

export const saveState = {
  /** An edit is waiting for its debounce timer. */
  markPending(on) {
    pending = Math.max(0, pending + (on ? 1 : -1));
    renderSave();
  },
  /** Wrap a save request: updates the indicator; rethrows errors. */
  async track(promise) {
    inFlight++;
    renderSave();
    try {
      const r = await promise;
      failed = false;
      return r;
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      inFlight--;
      renderSave();
    }
  },
  busy: () => inFlight > 0 || pending > 0,
};

// ---------- dialogs ----------
function openDialog(dialog) {
  document.body.appendChild(dialog);
  dialog.addEventListener('close', () => setTimeout(() => dialog.remove(), 0));
  dialog.showModal();
  return dialog;
}

/** Ask for confirmation. Resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = 'OK', cancelLabel = 'Cancel', danger = false }) {
  return new Promise((resolve) => {
    const ok = h(`button.btn.${danger ? 'danger' : 'primary'}`, { type: 'submit', value: 'ok', id: 'dialog-ok' }, confirmLabel);
    const cancel = h('button.btn', { type: 'button', value: 'cancel', id: 'dialog-cancel' }, cancelLabel);
    const form = h(
      'form.dialog-body',
      { method: 'dialog' },
      h('h2', null, title),
      typeof message === 'string' ? h('p', null, message) : message,
      h('div.dialog-actions', null, cancel, ok),
    );
    const dlg = h('dialog.dialog', { 'aria-label': title }, form);
    cancel.addEventListener('click', () => dlg.close('cancel'));
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'));
    openDialog(dlg);
    (danger ? cancel : ok).focus();
  });
}

/** Ask for a line of text. Resolves the trimmed text, or null when cancelled. */
export function promptDialog({ title, label, value = '', confirmLabel = 'OK', maxLength = 200 }) {
  return new Promise((resolve) => {
    const input = h('input.input', { type: 'text', required: true, maxlength: maxLength, props: { value } });
    const ok = h('button.btn.primary', { type: 'submit', value: 'ok' }, confirmLabel);
    const cancel = h('button.btn', { type: 'button' }, 'Cancel');
    const form = h(
      'form.dialog-body',
      { method: 'dialog' },
      h('h2', null, title),
      h('label.field', null, h('span.field-label', null, label), input),
      h('div.dialog-actions', null, cancel, ok),
    );
    const dlg = h('dialog.dialog', { 'aria-label': title }, form);
    cancel.addEventListener('click', () => dlg.close('cancel'));
    form.addEventListener('submit', (ev) => {
      if (!input.value.trim()) {
        ev.preventDefault();
        input.focus();
      }
    });
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok' ? input.value.trim() : null));
    openDialog(dlg);
    input.focus();
    input.select();
  });
}

/**
 * Keyboard and mouse reference: [section, [[keys…], what it does]…].
 * @type {Array<[string, Array<[string[], string]>]>}
 */
export const SHORTCUTS = [
  ['Placing points', [
    [['Click'], 'Place the next point: 0 TL, 1 TR, 2 BR, 3 BL, 4 centre, then scale A, B'],
    [['Drag a point'], 'Move it (saved when you let go)'],
    [['Click a point'], 'Select it (or click its row in the table)'],
    [['←', '↑', '→', '↓'], 'Nudge the selected point by 1 px'],
    [['Shift', '+ arrow'], 'Nudge by 10 px'],
    [['Alt', '+ arrow'], 'Nudge by 0.1 px'],
    [['Delete', 'Backspace'], 'Remove the selected point; the next click places it again'],
    [['Esc'], 'Deselect; while re-placing a removed point, keep its old position'],
    [['Ctrl', '+ Z'], 'Undo a point edit (Ctrl + Shift + Z or Ctrl + Y: redo)'],
    [['S'], 'Snap the selected marker to the centre of its dot'],
  ]],
  ['View', [
    [['Wheel'], 'Zoom around the cursor'],
    [['+', '−'], 'Zoom in, zoom out'],
    [['0', 'F'], 'Fit the image to the view'],
    [['1'], 'Actual size (100 %)'],
    [['Drag empty space'], 'Pan'],
    [['Space', '+ drag'], 'Pan, also over points (or drag with the middle button)'],
  ]],
  ['Images', [
    [['Page Down', ']'], 'Next image'],
    [['Page Up', '['], 'Previous image'],
    [['D'], 'Jump to the deformation distance field'],
    [['?'], 'This help'],
  ]],
];

export function helpDialog() {
  const close = h('button.btn.primary', { type: 'submit', value: 'ok' }, 'Close');
  /** @param {[string, Array<[string[], string]>]} group */
  const section = ([name, rows]) =>
    h(
      'section.help-section',
      null,
      h('h3', null, name),
      h(
        'dl.shortcuts',
        null,
        rows.map(([keys, what]) => [
          h('dt', null, keys.map((k) => (k.startsWith('+ ') ? h('span.key-plus', null, k) : h('kbd', null, k)))),
          h('dd', null, what),
        ]),
      ),
    );
  const sections = [
    h('div.help-col', null, section(SHORTCUTS[0])),
    h('div.help-col', null, section(SHORTCUTS[1]), section(SHORTCUTS[2])),
  ];
  const form = h(
    'form.dialog-body.wide',
    { method: 'dialog' },
    h('h2', null, 'Keyboard shortcuts'),
    h('div.help-grid', null, sections),
    h(
      'p.muted.small',
      null,
      'Every edit is saved on the server as you make it: points when placed or dropped, nudges and ' +
        'typed values after a short pause. The indicator in the top bar shows “Saving…”, “Saved” or “Not saved”.',
    ),
    h('div.dialog-actions', null, close),
  );
  const dlg = h('dialog.dialog', { 'aria-label': 'Keyboard shortcuts', id: 'help-dialog' }, form);
  openDialog(dlg);
  close.focus();
}

/** A status badge: Complete / Incomplete / Missing Distance / Missing. */
export function badge(status, extra = '') {
  return h(`span.badge.${STATUS_CLASS[status] ?? 'missing'}${extra}`, null, status ?? 'Missing');
}
