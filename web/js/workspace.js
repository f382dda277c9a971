// @ts-check
// One project: app-bar context (name, tabs, scale length, export), the image sidebar and the
// main panel (overview, annotator or analysis).
import { api, urls } from './api.js';
import { debounce, h, icon, replace } from './dom.js';
import { mm, STATUS_CLASS } from './format.js';
import { ImageList } from './imagelist.js';
import { Annotator } from './annotator.js';
import { AnalysisView, resultsQuery } from './analysis.js';
import { flushSaves, saveProject, store } from './state.js';
import { announceScaleChange } from './scale.js';
import { confirmDialog, promptDialog, saveState, toast, toastError } from './ui.js';
import { rules, uploads } from './rules.js';
import { Overview } from './overview.js';
import { uploadMethods } from './workspace-upload.js';
import { annotateTarget, reordered, safeFilePrefix, stepTarget, summaryChips, takesResultsQuery } from './workspace-model.js';

export class Workspace {
  constructor(root, projectId) {
    this.root = root;
    this.projectId = projectId;
    this.panel = null; // {kind, view}
    this.sub = null;
    this.unsub = null;
    /** @type {AbortController | undefined} the page's drop listeners (workspace-upload.js) */
    this.dropListeners = undefined;
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
    this.fileInput = h('input.sr-only', { type: 'file', multiple: true, accept: [uploads().images.accept, uploads().films.accept, uploads().logs.accept].join(','), id: 'file-input', tabindex: '-1', 'aria-label': 'Add photos or a film' });
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
    if (takesResultsQuery(path, rules().exports)) path += resultsQuery();
    try {
      const blob = await api.exportBlob(path);
      const safeProject = safeFilePrefix(store.project?.name);
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
    const chips = summaryChips(c).map(([k, v]) => h(`span.chip.${STATUS_CLASS[k]}`, null, h('span.dot'), `${v} ${k}`));
    replace(this.summaryEl, n ? chips : h('span.muted.small', null, 'No images yet'));
    const badge = document.getElementById('analysis-badge');
    if (badge) {
      badge.textContent = `${c.Complete}/${n}`;
      badge.classList.toggle('ready', c.Complete >= 3);
      badge.title = c.Complete >= 3 ? 'Ready to analyse' : 'The analysis needs at least 3 complete images';
    }
    // the Annotate tab opens the selected image, else the first image that still needs work
    const target = annotateTarget(store.images, this.currentImageId);
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


  async move(id, toIndex) {
    const im = store.image(id);
    if (!im) return;
    // optimistic local reorder
    const arr = reordered(store.images, store.indexOf(id), toIndex);
    if (!arr) return;
    const to = arr.indexOf(im);
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

  /** Add dropped or chosen files: photos, a film and its log (workspace-upload.js). */
  upload(files) {
    return uploadMethods.upload.call(this, files);
  }

  /** Files dropped anywhere on the page are uploaded (workspace-upload.js). */
  installDrop() {
    uploadMethods.installDrop.call(this);
  }

  pickFiles() {
    this.fileInput.click();
  }

  /** Navigate to the image `delta` steps away from the current one. */
  step(delta) {
    const id = stepTarget(store.images, this.currentImageId, delta);
    if (id === null) return false;
    location.hash = `#/project/${store.project.id}/image/${id}`;
    return true;
  }
}

// the rest of the file handling (askAboutDuplicates, addFilm); upload and installDrop above
Object.assign(Workspace.prototype, { askAboutDuplicates: uploadMethods.askAboutDuplicates, addFilm: uploadMethods.addFilm });
