// @ts-check
// The project workspace's logic without the DOM (workspace.js, overview.js and
// workspace-upload.js draw it): upload batches, duplicate detection, the status table's rows
// and pages, which image the Annotate tab opens, reordering, and which downloads follow the
// analysis' query. Unit-tested in e2e/unit/workspace-model.test.mjs.

/** @typedef {{id: number, status: string, order?: number}} ImageLike */

/**
 * Split files into upload batches of at most `maxFiles` files and `maxBytes` bytes (a file
 * bigger than `maxBytes` travels alone), keeping their order.
 * @template {{size: number}} F
 * @param {F[]} files
 * @param {number} maxFiles
 * @param {number} maxBytes
 * @returns {F[][]}
 */
export function uploadBatches(files, maxFiles, maxBytes) {
  /** @type {F[][]} */
  const batches = [];
  /** @type {F[]} */
  let cur = [];
  let bytes = 0;
  for (const f of files) {
    if (cur.length && (cur.length >= maxFiles || bytes + f.size > maxBytes)) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length) batches.push(cur);
  return batches;
}

/**
 * Lower-case hex of a digest.
 * @param {ArrayBuffer | Uint8Array} bytes
 */
export function hex(bytes) {
  return [...(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Files whose content (`hash`) is already in the project (`known`: hash → filename) or earlier
 * in the same upload: `[file, name of the one it repeats]` for each.
 * @template F
 * @param {Array<{file: F & {name: string}, hash: string}>} hashed
 * @param {Iterable<[string, string]>} known
 * @returns {Array<[F & {name: string}, string]>}
 */
export function duplicates(hashed, known) {
  const seen = new Map(known);
  /** @type {Array<[F & {name: string}, string]>} */
  const out = [];
  for (const { file, hash } of hashed) {
    if (seen.has(hash)) out.push([file, seen.get(hash)]);
    else seen.set(hash, file.name);
  }
  return out;
}

/** Points placed in a point list (gaps are `null`). */
export function countPts(arr) {
  return Array.isArray(arr) ? arr.filter((p) => Array.isArray(p)).length : 0;
}

/**
 * One image as the status table shows it (the distance with `fmtMm`, e.g. format.js' mm).
 * @param {any} im
 * @param {number} index  0-based position in the project
 * @param {(x: number) => string} fmtMm
 */
export function statusRow(im, index, fmtMm) {
  const d = im.deformation_distance;
  return {
    id: im.id,
    position: String(index + 1),
    filename: im.filename,
    size: `${im.width} × ${im.height}`,
    markers: `${countPts(im.fiducials)} / 5`,
    scale: `${countPts(im.scale)} / 2`,
    distance: d === null || d === undefined ? '—' : `${fmtMm(d)} mm`,
    status: im.status,
  };
}

/**
 * Page `page` (0-based, clamped) of `n` items, `size` a page.
 * @returns {{page: number, pages: number, start: number, end: number}}
 */
export function pageOf(n, page, size) {
  const pages = Math.max(1, Math.ceil(n / size));
  const p = Math.max(0, Math.min(page, pages - 1));
  return { page: p, pages, start: p * size, end: Math.min(n, p * size + size) };
}

/**
 * The status chips of the sidebar: `[status, count]` for each status with images, in the
 * order of `counts`.
 * @param {Record<string, number>} counts
 * @returns {Array<[string, number]>}
 */
export function summaryChips(counts) {
  return Object.entries(counts).filter(([, v]) => v > 0);
}

/**
 * The image the Annotate tab opens: the selected one, else the first that still needs work,
 * else the first; undefined in an empty project.
 * @param {ImageLike[]} images
 * @param {number | undefined} currentId
 */
export function annotateTarget(images, currentId) {
  return currentId ?? images.find((im) => im.status !== 'Complete')?.id ?? images[0]?.id;
}

/**
 * `images` with the one at `from` moved to `to` (clamped), each image's `order` set to its new
 * position (the same objects, as the store keeps them); null when nothing moves.
 * @template {{order?: number}} I
 * @param {I[]} images
 * @param {number} from
 * @param {number} toIndex
 * @returns {I[] | null}
 */
export function reordered(images, from, toIndex) {
  const to = Math.max(0, Math.min(images.length - 1, toIndex));
  if (from < 0 || from >= images.length || from === to) return null;
  const arr = images.slice();
  const [im] = arr.splice(from, 1);
  arr.splice(to, 0, im);
  arr.forEach((x, i) => (x.order = i));
  return arr;
}

/**
 * The id of the image `delta` steps from `currentId`, or null past either end.
 * @param {ImageLike[]} images
 */
export function stepTarget(images, currentId, delta) {
  const i = images.findIndex((im) => im.id === currentId);
  const j = i + delta;
  if (i < 0 || j < 0 || j >= images.length) return null;
  return images[j].id;
}

/**
 * Whether a download follows the analysis query: the exports computed from the analysis and
 * the reports (`exportsRules` is GET /api/rules' `exports`).
 * @param {string} path
 * @param {{files: Array<{name: string, from_analysis: boolean}>, reports: string[]}} exportsRules
 */
export function takesResultsQuery(path, exportsRules) {
  const { files, reports } = exportsRules;
  return files.some((f) => f.from_analysis && path.endsWith(`/export/${f.name}`)) || reports.some((r) => path.endsWith(`/report/${r}`));
}

/** A project name as the prefix of a downloaded file's name. */
export function safeFilePrefix(name) {
  return String(name ?? 'project').replace(/[^\w.-]+/g, '_').slice(0, 60);
}
