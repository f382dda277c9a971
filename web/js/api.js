// @ts-check
// Thin client for the JSON API (docs/api.md). Every failure becomes an ApiError whose
// message is the server's {"error": "..."} text (or a description of the network failure).
import { LineSplitter, parseFilmEvent } from './film-model.js';

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

const BASE = 'api';

/**
 * One API call; JSON in and out, errors as {@link ApiError}.
 * @param {string} method
 * @param {string} path
 * @param {{json?: unknown, form?: FormData, signal?: AbortSignal}} [options]
 */
async function request(method, path, { json, form, signal } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, signal };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let res;
  try {
    res = await fetch(`${BASE}${path}`, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError('Cannot reach the Strain Seer server. Is it still running?', 0, null);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!res.ok) {
    const msg =
      body && typeof body === 'object' && typeof body.error === 'string'
        ? body.error
        : `${method} ${path} failed: HTTP ${res.status}`;
    throw new ApiError(msg, res.status, body);
  }
  return body;
}

const enc = encodeURIComponent;

export const api = {
  /** The server's rules the UI follows (accepted files, limits, components, exports). */
  rules: () => request('GET', '/rules'),
  listProjects: () => request('GET', '/projects'),
  createProject: (name) => request('POST', '/projects', { json: { name } }),
  getProject: (id) => request('GET', `/projects/${enc(id)}`),
  listImages: (id, offset, limit) => request('GET', `/projects/${enc(id)}/images?offset=${offset}&limit=${limit}`),
  patchProject: (id, patch) => request('PATCH', `/projects/${enc(id)}`, { json: patch }),
  deleteProject: (id) => request('DELETE', `/projects/${enc(id)}`),

  uploadImages: (id, files) => {
    const form = new FormData();
    for (const f of files) form.append('file', f, f.name);
    return request('POST', `/projects/${enc(id)}/images`, { form });
  },
  /**
   * Upload a film (and a log) to become images (docs/api.md, Films). XMLHttpRequest, not fetch,
   * for the upload's progress: `onProgress(fraction)` while sending, `onProgress(1)` when sent.
   * The answer is asked for as NDJSON: the server then streams a line per decoded frame
   * (`onDecode({done, total, time_s})`) and ends with the result or the error; a server that
   * answers plain JSON is read as before.
   * @param {number} id
   * @param {File} film
   * @param {File | null} log
   * @param {Array<[string, string]>} fields
   * @param {(fraction: number) => void} [onProgress]
   * @param {(ev: {done: number, total: number, time_s?: number} | {stage: string, frames: number}) => void} [onDecode]
   *   decoded frames, then the later stages (detection, encoding)
   */
  uploadFilm: (id, film, log, fields, onProgress, onDecode) =>
    new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [k, v] of fields) form.append(k, v);
      if (log) form.append('log', log, log.name);
      form.append('video', film, film.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${BASE}/projects/${enc(id)}/video`);
      xhr.setRequestHeader('Accept', 'application/x-ndjson');
      xhr.upload.addEventListener('progress', (ev) => {
        if (ev.lengthComputable && onProgress) onProgress(ev.loaded / ev.total);
      });
      xhr.upload.addEventListener('load', () => onProgress?.(1));
      const lines = new LineSplitter();
      let seen = 0;
      let settled = false;
      const streaming = () => xhr.status === 200 && /application\/x-ndjson/.test(xhr.getResponseHeader('Content-Type') ?? '');
      /** Read the lines that arrived since the last call. */
      const drain = (final) => {
        const text = xhr.responseText;
        const got = lines.push(text.slice(seen));
        seen = text.length;
        if (final) got.push(...lines.end());
        for (const line of got) {
          const ev = parseFilmEvent(line);
          if (settled) return;
          if (ev.kind === 'progress') onDecode?.({ done: ev.done, total: ev.total, time_s: ev.time_s });
          else if (ev.kind === 'stage') onDecode?.({ stage: ev.stage, frames: ev.frames });
          else if (ev.kind === 'done') {
            settled = true;
            resolve(ev.result);
          } else if (ev.kind === 'error') {
            settled = true;
            reject(new ApiError(ev.message, ev.status, ev.body));
          }
        }
      };
      xhr.addEventListener('progress', () => {
        if (streaming()) drain(false);
      });
      xhr.addEventListener('error', () => reject(new ApiError('Cannot reach the Strain Seer server. Is it still running?', 0, null)));
      xhr.addEventListener('load', () => {
        if (streaming()) {
          drain(true);
          if (!settled) reject(new ApiError('The server stopped before it finished the film; nothing may have been added. Try again.', 0, null));
          return;
        }
        let body = null;
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          body = xhr.responseText;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else {
          const msg = body && typeof body === 'object' && typeof body.error === 'string' ? body.error : `Film upload failed: HTTP ${xhr.status}`;
          reject(new ApiError(msg, xhr.status, body));
        }
      });
      xhr.send(form);
    }),
  patchImage: (id, imageId, patch) =>
    request('PATCH', `/projects/${enc(id)}/images/${enc(imageId)}`, { json: patch }),
  deleteImage: (id, imageId) => request('DELETE', `/projects/${enc(id)}/images/${enc(imageId)}`),
  /** Detect markers and ruler in a stored image and save them (docs/api.md, Detection). */
  detectImage: (id, imageId, options = {}) =>
    request('POST', `/projects/${enc(id)}/images/${enc(imageId)}/detect`, { json: options }),
  /** The centre of the marker near (x, y); saves nothing. */
  snapPoint: (id, imageId, body) => request('POST', `/projects/${enc(id)}/images/${enc(imageId)}/snap`, { json: body }),

  /** @param {number} id @param {{components?: string[], signal?: AbortSignal}} [options] */
  analysis: (id, { components, signal } = {}) =>
    request('GET', `/projects/${enc(id)}/analysis${components ? `?components=${components.map(enc).join(',')}` : ''}`, { signal }),

  importProject: (projectFile, images, name) => {
    const form = new FormData();
    form.append('project', projectFile, projectFile.name);
    if (name) form.append('name', name);
    for (const f of images) form.append('file', f, f.name);
    return request('POST', '/import', { form });
  },

  /** Fetch an export as a Blob (errors as ApiError). */
  exportBlob: async (path) => {
    let res;
    try {
      res = await fetch(`${BASE}${path}`);
    } catch {
      throw new ApiError('Cannot reach the Strain Seer server. Is it still running?', 0, null);
    }
    if (!res.ok) {
      let msg = `Download failed: HTTP ${res.status}`;
      try {
        const body = await res.json();
        if (body && typeof body.error === 'string') msg = body.error;
      } catch {
        /* not JSON: keep the HTTP status message */
      }
      throw new ApiError(msg, res.status, null);
    }
    return res.blob();
  },
};

export const urls = {
  imageFile: (pid, iid) => `${BASE}/projects/${enc(pid)}/images/${enc(iid)}/file`,
  thumbnail: (pid, iid) => `${BASE}/projects/${enc(pid)}/images/${enc(iid)}/thumbnail`,
  exportFile: (pid, name) => `/projects/${enc(pid)}/export/${name}`,
  plot: (pid, component, ext) => `${BASE}/projects/${enc(pid)}/export/plot/${enc(component)}.${ext}`,
};
