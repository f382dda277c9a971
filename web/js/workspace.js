// @ts-check
// One project: app-bar context (name, tabs, scale length, export), the image sidebar and the
// main panel (overview, annotator or analysis).
import { api, urls } from './api.js';
import { debounce, h, icon, replace } from './dom.js';
import { mm, plural, STATUS_CLASS } from './format.js';
import { ImageList } from './imagelist.js';
import { Annotator } from './annotator.js';
import { AnalysisView, resultsQuery } from './analysis.js';
import { flushSaves, saveProject, store } from './state.js';
import { announceScaleChange } from './scale.js';
import { badge, confirmDialog, promptDialog, saveState, toast, toastError } from './ui.js';
import { isAcceptedImage, rules } from './rules.js';
import { FILM_ACCEPT, fileKind, uploadFilm } from './film.js';

export class Workspace {
  constructor(root, projectId) {
    this.root = root;
    this.projectId = projectId;
    this.panel = null; // {kind, view}
    this.sub = null;
    this.unsub = null;
  }

  async mount() {
    store.clear();
    this.root.replaceChildren(h('div.loading', null, h('span.spinner'), 'Loading project…'));
    try {
      await store.load(this.projectId);
    } catch (e) {
      toastError(e);
      replace(
        this.root,
        h('div.page', null, h('div.empty', null, icon('alert'), h('h2', null, 'This project cannot be opened'), h('p', null, e.message), h('a.btn.primary', { href: '#/' }, 'Back to all projects'))),
      );
      this.failed = true;
      return;
    }
    this.buildChrome();
    this.unsub = store.subscribe((what, detail) => this.onStore(what, detail));
  }

  unmount() {
    this.dropListeners?.abort();
    this.saveScaleDebounced?.flush();
    if (this.panel) this.panel.view.unmount();
    this.panel = null;
    if (this.unsub) this.unsub();
    this.list?.destroy();
    document.removeEventListener('click', this.closeMenus);
  }

  buildChrome() {
    const p = store.project;
    // ----- app bar -----
    this.nameEl = h('span.project-name', { id: 'project-name' }, p.name);
    this.tabs = {
      overview: h('a.tab', { href: `#/project/${p.id}`, id: 'tab-overview' }, icon('list'), 'Images'),
      image: h('a.tab', { href: `#/project/${p.id}`, id: 'tab-annotate' }, icon('target'), 'Annotate'),
      analysis: h('a.tab', { href: `#/project/${p.id}/analysis`, id: 'tab-analysis' }, icon('chart'), 'Analysis', h('span.tab-badge', { id: 'analysis-badge' })),
    };
    replace(
      document.getElementById('appbar-context'),
      h('a.crumb', { href: '#/' }, 'Projects'),
      h('span.crumb-sep', { 'aria-hidden': 'true' }, '/'),
      this.nameEl,
      h('button.btn.ghost.icon-only.small', { type: 'button', 'aria-label': 'Rename project', title: 'Rename project', on: { click: () => this.rename() } }, icon('edit')),
      h('nav.tabs', { 'aria-label': 'Project views' }, this.tabs.overview, this.tabs.image, this.tabs.analysis),
    );

    this.scaleInput = h('input.input.num', {
      type: 'number',
      id: 'scale-length',
      min: '0',
      step: 'any',
      inputmode: 'decimal',
      props: { value: mm(p.scale_length) },
      'aria-describedby': 'scale-length-help',
    });
    const saveScale = debounce(() => this.saveScale(), 600);
    this.scaleInput.addEventListener('input', () => {
      saveScale();
    });
    this.scaleInput.addEventListener('change', () => saveScale.flush());
    this.scaleInput.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        saveScale.flush();
        this.scaleInput.blur();
      }
    });
    this.saveScaleDebounced = saveScale;

    this.exportMenu = this.buildExportMenu();
    replace(
      document.getElementById('appbar-actions'),
      h(
        'label.inline-field',
        { title: 'Real distance between the two scale points (A and B) of every image' },
        h('span', null, 'Scale length'),
        this.scaleInput,
        h('span.unit', null, 'mm'),
        h('span.sr-only', { id: 'scale-length-help' }, 'Distance in millimetres between scale points A and B, used for every image.'),
      ),
      this.exportMenu,
    );

    // ----- body -----
    this.fileInput = h('input.sr-only', { type: 'file', multiple: true, accept: `${rules().uploads.images.accept},${FILM_ACCEPT}`, id: 'file-input', tabindex: '-1', 'aria-label': 'Add photos or a film' });
    this.fileInput.addEventListener('change', () => {
      const files = [...(this.fileInput.files ?? [])];
      this.fileInput.value = '';
      this.upload(files);
    });
    this.summaryEl = h('div.status-summary', { id: 'status-summary' });
    this.progressEl = h('div.upload-progress', { hidden: true, role: 'status' });
    const listHost = h('div.vlist', { id: 'image-list', role: 'list', 'aria-label': 'Images in order' });
    this.sidebar = h(
      'aside.sidebar',
      { 'aria-label': 'Images' },
      h(
        'div.side-head',
        null,
        h('h2', null, 'Images'),
        h('button.btn.small', { type: 'button', id: 'add-images', on: { click: () => this.fileInput.click() } }, icon('upload'), 'Add images'),
      ),
      this.summaryEl,
      this.progressEl,
      listHost,
      h('p.side-foot.small.muted', null, 'Drag rows to reorder · drop image files anywhere to add'),
      this.fileInput,
    );
    this.main = h('section.main', { id: 'main-panel' });
    this.dropVeil = h('div.drop-veil', { 'aria-hidden': 'true' }, h('div', null, icon('upload'), h('p', null, 'Drop photos, or a film and its log, to add them to this project')));
    this.root.replaceChildren(h('div.workspace', null, this.sidebar, this.main, this.dropVeil));

    this.list = new ImageList(listHost, {
      projectId: p.id,
      onMove: (id, toIndex) => this.move(id, toIndex),
      onDelete: (id) => this.deleteImage(id),
    });
    this.installDrop();
    this.closeMenus = (ev) => {
      if (this.exportMenu.open && !this.exportMenu.contains(ev.target)) this.exportMenu.open = false;
    };
    document.addEventListener('click', this.closeMenus);
    this.exportMenu.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.exportMenu.open) {
        ev.stopPropagation();
        this.exportMenu.open = false;
        this.exportMenu.querySelector('summary')?.focus();
      }
    });
    this.renderSummary();
    this.list.render();
  }

  buildExportMenu() {
    const pid = store.project.id;
    const item = (label, path, filename, hint) =>
      h(
        'button.menu-item',
        { type: 'button', dataset: { export: path }, on: { click: () => this.download(path, filename) } },
        icon('download'),
        h('span', null, label, hint ? h('small', null, hint) : null),
      );
    return h(
      'details.menu',
      { id: 'export-menu' },
      h('summary.btn', null, icon('download'), 'Export', icon('down')),
      h(
        'div.menu-items',
        { role: 'group', 'aria-label': 'Downloads' },
        // the server's export files: results (from the analysis), a rule, then data
        rules().exports.files.flatMap((f, i, all) => [
          i > 0 && all[i - 1].from_analysis !== f.from_analysis ? h('hr') : null,
          item(f.label, urls.exportFile(pid, f.name), f.name, f.note),
        ]),
      ),
    );
  }

  /** Download an export; server errors (e.g. not enough complete images) become toasts. */
  async download(path, filename) {
    this.exportMenu.open = false;
    // Results and reports follow the measure chosen in the analysis view.
    if (takesResultsQuery(path)) path += resultsQuery();
    try {
      const blob = await api.exportBlob(path);
      const safeProject = String(store.project?.name ?? 'project').replace(/[^\w.-]+/g, '_').slice(0, 60);
      const a = h('a', { href: URL.createObjectURL(blob), download: `${safeProject}-${filename}` });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) {
      toastError(e);
    }
  }

  onStore(what, detail) {
    if (what === 'project') {
      const p = store.project;
      this.nameEl.textContent = p.name;
      if (document.activeElement !== this.scaleInput) this.scaleInput.value = mm(p.scale_length);
      this.renderSummary();
      this.setTitle();
    } else if (what === 'images') {
      this.renderSummary();
      this.list.render();
    } else if (what === 'image') {
      this.renderSummary();
      this.list.updateRow(detail);
    }
    if (this.panel && this.panel.view.onStore) this.panel.view.onStore(what, detail);
  }

  renderSummary() {
    const c = store.counts();
    const n = store.images.length;
    const chips = Object.entries(c)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => h(`span.chip.${STATUS_CLASS[k]}`, null, h('span.dot'), `${v} ${k}`));
    replace(this.summaryEl, n ? chips : h('span.muted.small', null, 'No images yet'));
    const badge = document.getElementById('analysis-badge');
    if (badge) {
      badge.textContent = `${c.Complete}/${n}`;
      badge.classList.toggle('ready', c.Complete >= 3);
      badge.title = c.Complete >= 3 ? 'Ready to analyse' : 'The analysis needs at least 3 complete images';
    }
    // the Annotate tab opens the selected image, else the first image that still needs work
    const target = this.currentImageId ?? store.images.find((im) => im.status !== 'Complete')?.id ?? store.images[0]?.id;
    this.tabs.image.href = target !== undefined ? `#/project/${store.project.id}/image/${target}` : `#/project/${store.project.id}`;
    this.tabs.image.classList.toggle('disabled', target === undefined);
  }

  setTitle() {
    const name = store.project?.name ?? 'Project';
    const what = this.sub?.view === 'analysis' ? 'Analysis' : this.sub?.view === 'image' ? store.image(this.sub.imageId)?.filename ?? 'Image' : 'Images';
    document.title = `${what} · ${name} · Strain Seer`;
  }

  /** Show a sub-view: overview, image (annotator) or analysis. */
  async show(sub) {
    if (this.failed) return;
    this.sub = sub;
    for (const [k, el] of Object.entries(this.tabs)) {
      el.classList.toggle('active', k === sub.view);
      if (k === sub.view) el.setAttribute('aria-current', 'page');
      else el.removeAttribute('aria-current');
    }
    if (sub.view === 'image') {
      let im = store.image(sub.imageId);
      if (!im) {
        await store.rest; // a large project: the image may be on a later page
        im = store.image(sub.imageId);
      }
      if (!im) {
        toast('That image is not in this project any more.', 'error');
        location.replace(`#/project/${this.projectId}`);
        return;
      }
      this.currentImageId = im.id;
      if (!this.panel || this.panel.kind !== 'image') {
        this.setPanel('image', new Annotator(this.main, { workspace: this }));
      }
      this.list.setCurrent(im.id);
      await this.panel.view.showImage(im.id);
    } else if (sub.view === 'analysis') {
      this.list.setCurrent(null);
      this.setPanel('analysis', new AnalysisView(this.main, { workspace: this }));
    } else {
      this.list.setCurrent(null);
      this.setPanel('overview', new Overview(this.main, { workspace: this }));
    }
    this.renderSummary();
    this.setTitle();
  }

  setPanel(kind, view) {
    if (this.panel) this.panel.view.unmount();
    this.main.replaceChildren();
    this.panel = { kind, view };
    view.mount();
  }

  async rename() {
    const name = await promptDialog({ title: 'Rename project', label: 'Project name', value: store.project.name, confirmLabel: 'Rename' });
    if (name === null || name === store.project.name) return;
    try {
      await saveProject({ name });
    } catch (e) {
      toastError(e);
    }
  }

  async saveScale() {
    const v = this.scaleInput.valueAsNumber;
    if (!Number.isFinite(v) || v <= 0) {
      this.scaleInput.setAttribute('aria-invalid', 'true');
      toast('The scale length must be a positive number of millimetres.', 'error');
      return;
    }
    this.scaleInput.removeAttribute('aria-invalid');
    if (v === store.project.scale_length) return;
    try {
      const res = await saveProject({ scale_length: v });
      // Detected scale points follow the new length (or are removed): reload the images.
      if (announceScaleChange(res?.scale_change)) {
        await flushSaves();
        await store.load(store.project.id);
      }
    } catch (e) {
      toastError(e);
    }
  }

  /**
   * Photos already in the project (same content, SHA-256, as the server stores them) or twice in
   * this upload: the user chooses to skip or keep them. Without WebCrypto (a page served over
   * plain http to another machine) the files cannot be hashed here and are all kept.
   */
  async askAboutDuplicates(files) {
    if (!globalThis.crypto?.subtle) return files;
    const known = new Map(store.images.map((im) => [im.sha256, im.filename]));
    const dupes = [];
    for (const f of files) {
      const digest = await crypto.subtle.digest('SHA-256', await f.arrayBuffer());
      const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
      if (known.has(hex)) dupes.push([f, known.get(hex)]);
      else known.set(hex, f.name);
    }
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
  }

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
  }

  pickFiles() {
    this.fileInput.click();
  }

  async upload(files) {
    const films = files.filter((f) => fileKind(f) === 'film');
    const logs = files.filter((f) => fileKind(f) === 'log');
    if (logs.length && !films.length) toast('A log (CSV) goes with a film: drop it together with the film, or choose it in the film dialog.', 'error');
    for (const film of films) await this.addFilm(film, logs[0] ?? null);
    files = files.filter((f) => fileKind(f) === 'other');
    if (!files.length) return;
    let ok = files.filter(isAcceptedImage);
    const skipped = files.length - ok.length;
    if (skipped) toast(`${plural(skipped, 'file')} skipped: not an image (${rules().uploads.images.names.join(', ')}) or a film (MP4, MOV, AVI, MKV).`, 'error');
    ok = await this.askAboutDuplicates(ok);
    if (!ok.length) return;
    const wasEmpty = store.images.length === 0;
    const { upload_batch_files: BATCH_FILES, upload_batch_bytes: BATCH_BYTES } = rules().limits;
    const batches = [];
    let cur = [];
    let bytes = 0;
    for (const f of ok) {
      if (cur.length && (cur.length >= BATCH_FILES || bytes + f.size > BATCH_BYTES)) {
        batches.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(f);
      bytes += f.size;
    }
    if (cur.length) batches.push(cur);
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
  }

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
  }

  async move(id, toIndex) {
    const im = store.image(id);
    if (!im) return;
    const from = store.indexOf(id);
    const to = Math.max(0, Math.min(store.images.length - 1, toIndex));
    if (from === to) return;
    // optimistic local reorder
    const arr = store.images.slice();
    arr.splice(from, 1);
    arr.splice(to, 0, im);
    arr.forEach((x, i) => (x.order = i));
    store.setImages(arr);
    store.emit('images');
    try {
      await saveState.track(api.patchImage(store.project.id, id, { order: to }));
    } catch (e) {
      toastError(e);
    }
    try {
      await store.load(store.project.id);
    } catch (e) {
      toastError(e);
    }
    this.list.focusRow(id);
  }

  async deleteImage(id) {
    const im = store.image(id);
    if (!im) return;
    const ok = await confirmDialog({
      title: 'Delete image?',
      message: `“${im.filename}” and its points will be removed from this project.`,
      confirmLabel: 'Delete image',
      danger: true,
    });
    if (!ok) return;
    const idx = store.indexOf(id);
    try {
      await saveState.track(api.deleteImage(store.project.id, id));
      await store.load(store.project.id);
      toast(`Deleted “${im.filename}”`, 'ok');
    } catch (e) {
      toastError(e);
      return;
    }
    if (this.sub?.view === 'image' && this.sub.imageId === id) {
      const next = store.images[Math.min(idx, store.images.length - 1)];
      this.currentImageId = undefined;
      location.hash = next ? `#/project/${store.project.id}/image/${next.id}` : `#/project/${store.project.id}`;
    }
  }

  /** Navigate to the image `delta` steps away from the current one. */
  step(delta) {
    const i = store.indexOf(this.currentImageId);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= store.images.length) return false;
    location.hash = `#/project/${store.project.id}/image/${store.images[j].id}`;
    return true;
  }
}

/** Overview: drop zone, what to do next, status table. */
class Overview {
  constructor(host, { workspace }) {
    this.host = host;
    this.ws = workspace;
    this.page = 0;
  }

  mount() {
    this.el = h('div.page.overview');
    this.host.replaceChildren(this.el);
    this.render();
  }

  unmount() {}

  onStore(what) {
    if (what === 'images' || what === 'image' || what === 'project') this.render();
  }

  render() {
    const pid = store.project.id;
    const n = store.images.length;
    const c = store.counts();
    const drop = h(
      'button.dropzone',
      { type: 'button', id: 'dropzone', on: { click: () => this.ws.pickFiles() } },
      icon('upload'),
      h('strong', null, n ? 'Add more images' : 'Add the photos of your test'),
      h('span', null, 'Drop image files here or click to choose · PNG, JPEG, GIF, BMP, TIFF · many at once · or a film (MP4, MOV, AVI, MKV) with its log'),
      h('span.small.muted', null, 'A distance in the file name (e.g. “deformation-05mm-force.png”) is filled in for you.'),
    );
    let next = null;
    if (n) {
      const firstTodo = store.images.find((im) => im.status !== 'Complete');
      next = h(
        'div.next-steps',
        null,
        firstTodo
          ? h('a.btn.primary', { href: `#/project/${pid}/image/${firstTodo.id}` }, icon('target'), `Annotate “${firstTodo.filename}”`)
          : null,
        c.Complete >= 3
          ? h('a.btn' + (firstTodo ? '' : '.primary'), { href: `#/project/${pid}/analysis` }, icon('chart'), 'Open the analysis')
          : h('span.muted', null, `The analysis needs at least 3 complete images (${c.Complete} so far).`),
      );
    }
    const PAGE = 50;
    const pages = Math.max(1, Math.ceil(n / PAGE));
    this.page = Math.min(this.page, pages - 1);
    const slice = store.images.slice(this.page * PAGE, this.page * PAGE + PAGE);
    const table = n
      ? h(
          'section.card',
          null,
          h('div.card-head', null, h('h2', null, 'Status'), h('span.muted', null, `${plural(n, 'image')} · ${c.Complete} complete`)),
          h(
            'table.table.status-table',
            { id: 'status-table' },
            h(
              'thead',
              null,
              h('tr', null, h('th.num', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Image'), h('th.num', { scope: 'col' }, 'Size (px)'), h('th.num', { scope: 'col' }, 'Markers'), h('th.num', { scope: 'col' }, 'Scale'), h('th.num', { scope: 'col' }, 'Distance'), h('th', { scope: 'col' }, 'Status')),
            ),
            h(
              'tbody',
              null,
              slice.map((im, k) =>
                h(
                  'tr',
                  { dataset: { imageId: im.id } },
                  h('td.num', null, String(this.page * PAGE + k + 1)),
                  h('td', null, h('a', { href: `#/project/${pid}/image/${im.id}` }, im.filename)),
                  h('td.num', null, `${im.width} × ${im.height}`),
                  h('td.num', null, `${countPts(im.fiducials)} / 5`),
                  h('td.num', null, `${countPts(im.scale)} / 2`),
                  h('td.num', null, im.deformation_distance === null || im.deformation_distance === undefined ? '—' : `${mm(im.deformation_distance)} mm`),
                  h('td', null, badge(im.status)),
                ),
              ),
            ),
          ),
          pages > 1
            ? h(
                'div.pager',
                null,
                h('button.btn.small', { type: 'button', disabled: this.page === 0, on: { click: () => { this.page--; this.render(); } } }, icon('left'), 'Previous'),
                h('span.small', null, `Page ${this.page + 1} of ${pages}`),
                h('button.btn.small', { type: 'button', disabled: this.page >= pages - 1, on: { click: () => { this.page++; this.render(); } } }, 'Next', icon('right')),
              )
            : null,
        )
      : null;
    replace(
      this.el,
      h(
        'div.page-inner',
        null,
        h('div.page-head', null, h('h1', null, store.project.name), h('p.muted', null, n ? `${plural(n, 'image')} · scale length ${mm(store.project.scale_length)} mm` : 'A new project: start by adding the photos, in order.')),
        drop,
        next,
        table,
      ),
    );
  }
}

function countPts(arr) {
  return Array.isArray(arr) ? arr.filter((p) => Array.isArray(p)).length : 0;
}

/** Whether a download follows the analysis query: the exports computed from the analysis and
 * the reports (GET /api/rules says which). */
function takesResultsQuery(path) {
  const { files, reports } = rules().exports;
  return files.some((f) => f.from_analysis && path.endsWith(`/export/${f.name}`)) || reports.some((r) => path.endsWith(`/report/${r}`));
}
