// @ts-check
// Entry point: hash router and global wiring.
//
// Routes:  #/                          project list
//          #/project/{id}              project overview (upload, status table)
//          #/project/{id}/image/{iid}  annotator on one image
//          #/project/{id}/analysis     analysis
import { helpDialog, saveState, toastError } from './ui.js';
import { isTyping } from './dom.js';
import { ProjectsView } from './projects.js';
import { Workspace } from './workspace.js';
import { loadRules } from './rules.js';

const root = document.getElementById('app');
let current = null; // {kind, view, projectId}

export function parseHash(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'project' && /^\d+$/.test(parts[1] ?? '')) {
    const projectId = Number(parts[1]);
    if (parts[2] === 'image' && /^\d+$/.test(parts[3] ?? '')) {
      return { kind: 'project', projectId, sub: { view: 'image', imageId: Number(parts[3]) } };
    }
    if (parts[2] === 'analysis') return { kind: 'project', projectId, sub: { view: 'analysis' } };
    return { kind: 'project', projectId, sub: { view: 'overview' } };
  }
  return { kind: 'projects' };
}

async function route() {
  const r = parseHash(location.hash);
  try {
    if (r.kind === 'project') {
      if (!current || current.kind !== 'project' || current.projectId !== r.projectId) {
        unmount();
        const view = new Workspace(root, r.projectId);
        current = { kind: 'project', projectId: r.projectId, view };
        await view.mount();
      }
      if (current && current.kind === 'project' && current.projectId === r.projectId) {
        await current.view.show(r.sub);
      }
    } else {
      if (!current || current.kind !== 'projects') {
        unmount();
        const view = new ProjectsView(root);
        current = { kind: 'projects', view };
        await view.mount();
      }
    }
  } catch (e) {
    toastError(e);
  }
}

function unmount() {
  if (current) current.view.unmount();
  current = null;
  root.replaceChildren();
  document.getElementById('appbar-context')?.replaceChildren();
  document.getElementById('appbar-actions')?.replaceChildren();
}

document.getElementById('help-button')?.addEventListener('click', helpDialog);
document.addEventListener('keydown', (ev) => {
  if (ev.key === '?' && !isTyping(ev.target) && !ev.ctrlKey && !ev.metaKey) {
    ev.preventDefault();
    helpDialog();
  }
});
window.addEventListener('hashchange', () => loadRules().then(route, toastError));
// closing or reloading the tab while an edit is still being sent: let the browser ask first
window.addEventListener('beforeunload', (ev) => {
  if (saveState.busy()) ev.preventDefault();
});
window.addEventListener('unhandledrejection', (ev) => {
  toastError(ev.reason);
  ev.preventDefault();
});
loadRules().then(route, toastError);
