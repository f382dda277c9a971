// @ts-check
// The project's Images tab: the drop zone, what to do next and the status table (50 rows a page).
import { h, icon, replace } from './dom.js';
import { mm, plural } from './format.js';
import { store } from './state.js';
import { badge } from './ui.js';
import { uploads } from './rules.js';
import { pageOf, statusRow } from './workspace-model.js';

const PAGE = 50;

export class Overview {
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
      h('span', null, `Drop image files here or click to choose · ${uploads().images.names.join(', ')} · many at once · or a film (${uploads().films.names.join(', ')}) with its log`),
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
    const pg = pageOf(n, this.page, PAGE);
    this.page = pg.page;
    const rows = store.images.slice(pg.start, pg.end).map((im, k) => statusRow(im, pg.start + k, mm));
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
              rows.map((r) =>
                h(
                  'tr',
                  { dataset: { imageId: r.id } },
                  h('td.num', null, r.position),
                  h('td', null, h('a', { href: `#/project/${pid}/image/${r.id}` }, r.filename)),
                  h('td.num', null, r.size),
                  h('td.num', null, r.markers),
                  h('td.num', null, r.scale),
                  h('td.num', null, r.distance),
                  h('td', null, badge(r.status)),
                ),
              ),
            ),
          ),
          pg.pages > 1
            ? h(
                'div.pager',
                null,
                h('button.btn.small', { type: 'button', disabled: this.page === 0, on: { click: () => { this.page--; this.render(); } } }, icon('left'), 'Previous'),
                h('span.small', null, `Page ${this.page + 1} of ${pg.pages}`),
                h('button.btn.small', { type: 'button', disabled: this.page >= pg.pages - 1, on: { click: () => { this.page++; this.render(); } } }, 'Next', icon('right')),
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
