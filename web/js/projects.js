// @ts-check
// The project list: create, open, rename, delete, import.
import { api } from './api.js';
import { h, icon, replace } from './dom.js';
import { fixed, fullTime, plural, relTime } from './format.js';
import { confirmDialog, promptDialog, toast, toastError } from './ui.js';
import { rules } from './rules.js';

export class ProjectsView {
  constructor(root) {
    this.root = root;
    this.projects = [];
  }

  async mount() {
    document.title = 'Projects · Strain Seer';
    const ctx = document.getElementById('appbar-context');
    replace(ctx, h('span.appbar-title', null, 'Projects'));
    const actions = document.getElementById('appbar-actions');
    replace(
      actions,
      h('button.btn', { type: 'button', id: 'import-button', on: { click: () => importDialog() } }, icon('import'), 'Import…'),
    );

    this.nameInput = h('input.input', {
      type: 'text',
      id: 'new-project-name',
      name: 'name',
      placeholder: 'e.g. Plasticine block, compression 0–30 mm',
      maxlength: 200,
      required: true,
      autocomplete: 'off',
    });
    const form = h(
      'form.new-project',
      { on: { submit: (ev) => this.create(ev) } },
      h('label.field.grow', null, h('span.field-label', null, 'New project'), this.nameInput),
      h('button.btn.primary', { type: 'submit', id: 'create-project' }, icon('plus'), 'Create project'),
    );
    this.listEl = h('div.project-list', { id: 'project-list' });
    const steps = h(
      'ol.steps',
      { 'aria-label': 'How it works' },
      step('1', 'Upload photos', 'the whole sequence, in order of deformation'),
      step('2', 'Place 7 points', '5 markers (TL, TR, BR, BL, centre) + 2 on the ruler'),
      step('3', 'Enter distances', 'the deformation of each photo, in mm'),
      step('4', 'Analyse & export', 'strain per photo, linear fit, plots, CSV/JSON'),
    );
    this.root.replaceChildren(
      h('div.page', null, h('div.page-inner', null, h('section.card.pad', null, form, steps), this.listEl)),
    );
    await this.refresh();
    this.nameInput.focus();
  }

  unmount() {}

  async refresh() {
    try {
      this.projects = await api.listProjects();
    } catch (e) {
      toastError(e);
      this.projects = [];
    }
    this.render();
  }

  render() {
    if (!this.projects.length) {
      replace(
        this.listEl,
        h(
          'div.empty',
          null,
          icon('folder'),
          h('h2', null, 'No projects yet'),
          h('p', null, 'Create a project above, or import a project or annotation JSON file exported earlier.'),
        ),
      );
      return;
    }
    const rows = this.projects.map((p) => {
      const total = p.image_count ?? 0;
      const done = p.complete_count ?? 0;
      const pct = total ? Math.round((100 * done) / total) : 0;
      const fill = h('div.progress-fill');
      fill.style.width = `${pct}%`;
      const bar = h('div.progress', { role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': done, 'aria-label': `${done} of ${total} images complete` }, fill);
      return h(
        'tr',
        { dataset: { projectId: p.id } },
        h('td', null, h('a.project-link', { href: `#/project/${p.id}` }, p.name)),
        h('td', null, h('div.progress-cell', null, bar, h('span.small', null, `${done} / ${total} complete`))),
        h('td.num', null, `${fixed(p.scale_length, 2).replace(/\.?0+$/, '')} mm`),
        h('td', null, h('time', { datetime: String(p.updated_at ?? ''), title: fullTime(p.updated_at) }, relTime(p.updated_at))),
        h(
          'td.actions',
          null,
          h('button.btn.ghost.small', { type: 'button', 'aria-label': `Rename ${p.name}`, on: { click: () => this.rename(p) } }, icon('edit'), 'Rename'),
          h('button.btn.ghost.small.danger-text', { type: 'button', 'aria-label': `Delete ${p.name}`, on: { click: () => this.remove(p) } }, icon('trash'), 'Delete'),
        ),
      );
    });
    replace(
      this.listEl,
      h(
        'section.card',
        null,
        h('div.card-head', null, h('h2', null, 'Your projects'), h('span.muted', null, plural(this.projects.length, 'project'))),
        h(
          'table.table.projects',
          null,
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Images'), h('th.num', { scope: 'col' }, 'Scale length'), h('th', { scope: 'col' }, 'Updated'), h('th', { scope: 'col' }, h('span.sr-only', null, 'Actions')))),
          h('tbody', null, rows),
        ),
      ),
    );
  }

  async create(ev) {
    ev.preventDefault();
    const name = this.nameInput.value.trim();
    if (!name) {
      this.nameInput.focus();
      return;
    }
    try {
      const p = await api.createProject(name);
      location.hash = `#/project/${p.id}`;
    } catch (e) {
      toastError(e);
    }
  }

  async rename(p) {
    const name = await promptDialog({ title: 'Rename project', label: 'Project name', value: p.name, confirmLabel: 'Rename' });
    if (name === null || name === p.name) return;
    try {
      await api.patchProject(p.id, { name });
      toast('Project renamed', 'ok');
      await this.refresh();
    } catch (e) {
      toastError(e);
    }
  }

  async remove(p) {
    const ok = await confirmDialog({
      title: 'Delete project?',
      message: `“${p.name}” and its ${plural(p.image_count ?? 0, 'image')} with all their points will be deleted. This cannot be undone.`,
      confirmLabel: 'Delete project',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteProject(p.id);
      toast(`Deleted “${p.name}”`, 'ok');
      await this.refresh();
    } catch (e) {
      toastError(e);
    }
  }
}

function step(n, title, text) {
  return h('li', null, h('span.step-n', { 'aria-hidden': 'true' }, n), h('div', null, h('strong', null, title), h('span.muted', null, text)));
}

/** Import a project JSON or a Python Strain Seer annotation JSON together with its images. */
export function importDialog() {
  const jsonInput = h('input', { type: 'file', accept: rules().uploads.projects.accept, required: true, id: 'import-json' });
  const imgInput = h('input', { type: 'file', accept: rules().uploads.images.accept, multiple: true, id: 'import-images' });
  const nameInput = h('input.input', { type: 'text', id: 'import-name', maxlength: 200, placeholder: 'from the file when empty', autocomplete: 'off' });
  const status = h('p.small.muted', { role: 'status' });
  const ok = h('button.btn.primary', { type: 'submit', id: 'import-submit' }, icon('import'), 'Import');
  const cancel = h('button.btn', { type: 'button' }, 'Cancel');
  const form = h(
    'form.dialog-body',
    null,
    h('h2', null, 'Import a project'),
    h('p', null, 'Choose a Strain Seer project JSON, or the annotation (“raw data”) JSON of the earlier Python Strain Seer, and the image files it refers to. A new project is created; nothing existing is changed.'),
    h('label.field', null, h('span.field-label', null, 'Project or annotation JSON'), jsonInput),
    h('label.field', null, h('span.field-label', null, 'Images (select all of them)'), imgInput),
    h('label.field', null, h('span.field-label', null, 'Name of the new project (optional)'), nameInput),
    status,
    h('div.dialog-actions', null, cancel, ok),
  );
  const dlg = h('dialog.dialog', { 'aria-label': 'Import a project' }, form);
  cancel.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => setTimeout(() => dlg.remove(), 0));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = jsonInput.files && jsonInput.files[0];
    if (!file) {
      jsonInput.focus();
      return;
    }
    const images = imgInput.files ? [...imgInput.files] : [];
    ok.disabled = true;
    status.textContent = `Uploading ${plural(images.length, 'image')}…`;
    try {
      const p = await api.importProject(file, images, nameInput.value.trim());
      dlg.close();
      toast(`Imported “${p.name ?? 'project'}”`, 'ok');
      location.hash = `#/project/${p.id}`;
    } catch (e) {
      status.textContent = '';
      toastError(e);
    } finally {
      ok.disabled = false;
    }
  });
  document.body.appendChild(dlg);
  dlg.showModal();
}
