// @ts-check
// The workspace's file handling (methods of `Workspace`, workspace.js): dropping files on the
// page, the duplicate check, uploading photos in batches with a progress bar, and films.
import { api } from './api.js';
import { h, replace } from './dom.js';
import { mm, plural } from './format.js';
import { store } from './state.js';
import { confirmDialog, saveState, toast, toastError } from './ui.js';
import { decodesFilms, isAcceptedImage, rules, uploads } from './rules.js';
import { uploadFilm } from './film.js';
import { fileKind } from './film-model.js';
import { duplicates, hex, uploadBatches } from './workspace-model.js';

/** @type {Record<string, (this: any, ...args: any[]) => any>} */
export const uploadMethods = {
  /**
   * Photos already in the project (same content, SHA-256, as the server stores them) or twice in
   * this upload: the user chooses to skip or keep them. Without WebCrypto (a page served over
   * plain http to another machine) the files cannot be hashed here and are all kept.
   */
  async askAboutDuplicates(files) {
    if (!globalThis.crypto?.subtle) return files;
    /** @type {Array<{file: File, hash: string}>} */
    const hashed = [];
    for (const f of files) hashed.push({ file: f, hash: hex(await crypto.subtle.digest('SHA-256', await f.arrayBuffer())) });
    const dupes = duplicates(hashed, store.images.map((im) => [im.sha256, im.filename]));
    if (!dupes.length) return files;
    const keep = await confirmDialog({
      title: `${plural(dupes.length, 'photo')} already in the project`,
      message: h(
        'div',
        null,
        h('p', null, 'The same photo (identical content) is already here:'),
        h('ul.dup-list', { id: 'duplicate-list' }, dupes.map(([f, name]) => h('li', null, h('strong', null, f.name), f.name === name ? '' : ` = ${name}`))),
        h('p.small.muted', null, 'Keep them only if you really want the same photo twice in the sequence.'),
      ),
      confirmLabel: 'Keep them',
      cancelLabel: 'Skip them',
    });
    return keep ? files : files.filter((f) => !dupes.some(([d]) => d === f));
  },

  // ----- images -----
  installDrop() {
    // #app outlives this workspace: the listeners go with it (unmount aborts them), or every
    // project opened since the page loaded would upload each dropped file once more.
    this.dropListeners?.abort();
    this.dropListeners = new AbortController();
    const opts = { signal: this.dropListeners.signal };
    let depth = 0;
    const hasFiles = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes('Files');
    this.root.addEventListener('dragenter', (ev) => {
      if (!hasFiles(ev)) return;
      depth++;
      this.dropVeil.classList.add('show');
    }, opts);
    this.root.addEventListener('dragleave', (ev) => {
      if (!hasFiles(ev)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) this.dropVeil.classList.remove('show');
    }, opts);
    this.root.addEventListener('dragover', (ev) => {
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'copy';
    }, opts);
    this.root.addEventListener('drop', (ev) => {
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      depth = 0;
      this.dropVeil.classList.remove('show');
      this.upload([...ev.dataTransfer.files]);
    }, opts);
  },

  async upload(files) {
    const types = uploads();
    const films = files.filter((f) => fileKind(f, types) === 'film');
    const logs = files.filter((f) => fileKind(f, types) === 'log');
    if (films.length && !decodesFilms()) {
      toast(`This server cannot read films (${films.map((f) => f.name).join(', ')}): it was built without video support (cargo build --features video, docs/video.md). Extract the frames as photos and add those instead.`, 'error', { timeout: 12000 });
    } else {
      if (logs.length && !films.length) toast('A log (CSV) goes with a film: drop it together with the film, or choose it in the film dialog.', 'error');
      for (const film of films) await this.addFilm(film, logs[0] ?? null);
    }
    files = files.filter((f) => fileKind(f, types) === 'other');
    if (!files.length) return;
    let ok = files.filter(isAcceptedImage);
    const skipped = files.length - ok.length;
    if (skipped) toast(`${plural(skipped, 'file')} skipped: not an image (${types.images.names.join(', ')}) or a film (${types.films.names.join(', ')}).`, 'error');
    ok = await this.askAboutDuplicates(ok);
    if (!ok.length) return;
    const wasEmpty = store.images.length === 0;
    const { upload_batch_files: BATCH_FILES, upload_batch_bytes: BATCH_BYTES } = rules().limits;
    const batches = uploadBatches(ok, BATCH_FILES, BATCH_BYTES);
    let done = 0;
    let added = [];
    const fill = h('div.progress-fill');
    const bar = h('div.progress', null, fill);
    const label = h('span.small');
    replace(this.progressEl, label, bar);
    this.progressEl.hidden = false;
    const show = () => {
      label.textContent = `Uploading ${done} / ${ok.length}…`;
      fill.style.width = `${Math.round((100 * done) / ok.length)}%`;
    };
    show();
    const pid = store.project.id;
    try {
      for (const b of batches) {
        const res = await saveState.track(api.uploadImages(pid, b));
        const imgs = Array.isArray(res) ? res : Array.isArray(res?.images) ? res.images : [];
        added = added.concat(imgs);
        done += b.length;
        show();
        if (store.project?.id !== pid) return;
        store.setImages(store.images.concat(imgs));
        store.emit('images');
      }
      toast(`Added ${plural(added.length, 'image')}`, 'ok');
    } catch (e) {
      toastError(e);
    } finally {
      this.progressEl.hidden = true;
      if (store.project?.id === pid) {
        try {
          await store.load(pid); // status, order and counts as the server has them
        } catch (e) {
          toastError(e);
        }
      }
    }
    if (wasEmpty && added.length && store.project?.id === pid) {
      const first = store.images[0];
      if (first) location.hash = `#/project/${pid}/image/${first.id}`;
    }
  },

  /** A film (and its log) becomes images: the dialog, the upload, then the new frames. */
  async addFilm(film, log) {
    const pid = store.project.id;
    const wasEmpty = store.images.length === 0;
    let res = null;
    try {
      res = await uploadFilm({ projectId: pid, film, log, progressEl: this.progressEl, track: (p) => saveState.track(p) });
    } catch (e) {
      toastError(e);
    }
    if (!res || store.project?.id !== pid) return;
    const frames = Array.isArray(res.frames) ? res.frames : [];
    const review = frames.filter((f) => f.message);
    toast(`Added ${plural(frames.length, 'frame')} from ${film.name}${review.length ? `; ${plural(review.length, 'frame')} to review (${review[0].filename}: ${review[0].message})` : ''}`, review.length ? 'info' : 'ok', { timeout: review.length ? 9000 : undefined });
    if (res.scale_length_set) this.scaleInput.value = mm(res.scale_length_set);
    try {
      await store.load(pid);
    } catch (e) {
      toastError(e);
    }
    const first = res.images?.[0];
    if (wasEmpty && first && store.project?.id === pid) location.hash = `#/project/${pid}/image/${first.id}`;
  },
};
