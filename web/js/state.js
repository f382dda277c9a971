// @ts-check
// The project being worked on: its settings and its ordered images, kept in step with the
// server. Views subscribe to changes; saves go through per-image queues so that the last
// edit always wins and requests for one image never overtake each other.
import { api } from './api.js';
import { saveState, toastError } from './ui.js';

const listeners = new Set();

export const store = {
  project: null, // {id, name, scale_length, reference_image, sigma_px, ...}
  images: [], // ordered
  byId: new Map(),

  subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  emit(what, detail) {
    for (const fn of listeners) fn(what, detail);
  },

  /** Resolves when every page of the images of the last load has arrived. */
  rest: Promise.resolve(),
  loadToken: 0,

  /**
   * Load a project (settings + images) from the server. Resolves as soon as the project and
   * the first page of its images (up to 1000) are here; the other pages of a large project
   * arrive in the background (`store.rest`) and are announced with an 'images' event.
   */
  async load(projectId) {
    const token = ++this.loadToken;
    const data = await api.getProject(projectId);
    const images = Array.isArray(data.images) ? data.images.slice() : [];
    const total = Number(data.image_count ?? images.length);
    const limit = Number(data.images_limit ?? 1000) || 1000;
    data.images = images;
    this.setProjectData(data);
    if (images.length >= total) {
      this.rest = Promise.resolve();
      return data;
    }
    const offsets = [];
    for (let o = images.length; o < total; o += limit) offsets.push(o);
    this.rest = Promise.all(offsets.map((o) => api.listImages(projectId, o, limit))).then((pages) => {
      if (token !== this.loadToken || this.project?.id !== projectId) return;
      const more = pages.flatMap((p) => (Array.isArray(p?.images) ? p.images : []));
      const known = new Set(this.images.map((im) => im.id));
      this.setImages(this.images.concat(more.filter((im) => !known.has(im.id))));
      this.emit('images');
    }, toastError);
    return data;
  },

  setProjectData(data) {
    const images = Array.isArray(data.images) ? data.images : [];
    const project = data.project && typeof data.project === 'object' ? data.project : { ...data };
    delete project.images;
    delete project.images_offset;
    delete project.images_limit;
    this.project = project;
    this.setImages(images);
    this.emit('project');
    this.emit('images');
  },

  setImages(images) {
    this.images = [...images].sort((a, b) => a.order - b.order);
    this.byId = new Map(this.images.map((im) => [im.id, im]));
  },

  clear() {
    this.project = null;
    this.images = [];
    this.byId = new Map();
  },

  image(id) {
    return this.byId.get(Number(id)) ?? this.byId.get(id) ?? null;
  },

  indexOf(id) {
    const im = this.image(id);
    return im ? this.images.indexOf(im) : -1;
  },

  counts() {
    const sc = this.project?.status_counts;
    if (sc && this.images.length < Number(this.project.image_count ?? 0)) {
      // still loading the other pages: the server's counts are the complete ones
      return { Complete: 0, Incomplete: 0, 'Missing Distance': 0, Missing: 0, ...sc };
    }
    const c = { Complete: 0, Incomplete: 0, 'Missing Distance': 0, Missing: 0 };
    for (const im of this.images) c[im.status] = (c[im.status] ?? 0) + 1;
    return c;
  },

  /** Replace one image record (from a PATCH response) and the project summary. */
  applyImage(image, project) {
    const old = this.image(image.id);
    if (old) {
      Object.assign(old, image);
    }
    if (project && typeof project === 'object') {
      const p = project.project && typeof project.project === 'object' ? project.project : project;
      const keep = this.project;
      this.project = { ...keep, ...p };
      delete this.project.images;
    }
    this.emit('image', old ?? image);
    if (project) this.emit('project');
  },
};

// ---------- saving ----------
const queues = new Map();

/**
 * Queue a PATCH of one image. Fields merge with any not yet sent; requests for one image are
 * sent one at a time. `local` is applied to the in-memory record at once (optimistic).
 */
export function saveImage(imageId, patch) {
  const projectId = store.project && store.project.id;
  if (projectId === undefined || projectId === null) return Promise.resolve();
  let q = queues.get(imageId);
  if (!q) {
    q = { pending: null, running: null, projectId };
    queues.set(imageId, q);
  }
  q.pending = { ...(q.pending ?? {}), ...patch };
  if (!q.running) q.running = drain(imageId, q);
  return q.running;
}

async function drain(imageId, q) {
  try {
    while (q.pending) {
      const patch = q.pending;
      q.pending = null;
      try {
        const res = await saveState.track(api.patchImage(q.projectId, imageId, patch));
        if (res && res.image && store.project && store.project.id === q.projectId) {
          // Points the user is editing right now stay as they are locally; the server's
          // status, metadata and summary are taken.
          const local = store.image(imageId);
          const incoming = { ...res.image };
          if (q.pending && local) {
            if ('fiducials' in q.pending) incoming.fiducials = local.fiducials;
            if ('scale' in q.pending) incoming.scale = local.scale;
            if ('deformation_distance' in q.pending) incoming.deformation_distance = local.deformation_distance;
          }
          store.applyImage(incoming, res.project ?? null);
        }
      } catch (e) {
        toastError(e);
        // Resynchronise with what the server really holds.
        if (store.project && store.project.id === q.projectId) {
          try {
            await store.load(q.projectId);
          } catch (e2) {
            toastError(e2);
          }
        }
      }
    }
  } finally {
    q.running = null;
  }
}

/** Save a project setting (name, scale_length, reference_image). */
export async function saveProject(patch) {
  const p = store.project;
  if (!p) return null;
  const res = await saveState.track(api.patchProject(p.id, patch));
  if (res && store.project && store.project.id === p.id) {
    const proj = res.project && typeof res.project === 'object' ? res.project : res;
    store.project = { ...store.project, ...proj };
    delete store.project.images;
    delete store.project.scale_change;
    store.emit('project');
  }
  return res;
}

/** Wait until every queued save has been sent. */
export async function flushSaves() {
  const running = [...queues.values()].map((q) => q.running).filter(Boolean);
  await Promise.allSettled(running);
}
