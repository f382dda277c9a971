// @ts-check
// The rules the server applies that the UI shows or follows (GET /api/rules, docs/api.md):
// accepted upload types, limits, strain components and measures, export files, report formats
// and scale methods. Loaded once before the first view; the UI keeps no copy of these lists.
import { api } from './api.js';

/** @type {any} */
let loaded = null;

/** Fetch the rules (once; later calls return the same promise's result). */
let pending = null;
export function loadRules() {
  if (!pending) {
    pending = api.rules().then(
      (r) => (loaded = r),
      (e) => {
        pending = null;
        throw e;
      },
    );
  }
  return pending;
}

/** The loaded rules; {@link loadRules} must have finished. */
export function rules() {
  if (!loaded) throw new Error('the server rules are not loaded yet');
  return loaded;
}

/** The component with this key, or undefined. */
export function component(key) {
  return rules().components.find((c) => c.key === key);
}

/** Whether a file looks like an accepted photo (by extension or MIME type; the server decides). */
export function isAcceptedImage(file) {
  const types = rules().uploads.images;
  const ext = String(file.name ?? '').split('.').pop()?.toLowerCase() ?? '';
  return types.extensions.includes(ext) || types.mime_types.includes(file.type);
}

/**
 * The accepted uploads by kind (`images`, `projects`, `films`, `logs`): each
 * `{names, extensions, mime_types, accept}`.
 * @returns {Record<string, import('./film-model.js').FileTypes>}
 */
export function uploads() {
  return rules().uploads;
}

/** Whether this server decodes films (false: built without `--features video`). */
export function decodesFilms() {
  return rules().video === true;
}

/** The longest film the server takes, in seconds (null: no limit given). */
export function maxFilmSeconds() {
  const v = rules().limits?.max_film_seconds;
  return Number.isFinite(v) && v > 0 ? v : null;
}
