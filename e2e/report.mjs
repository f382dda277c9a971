// Browser test of the HTML lab report (issue 12): the file downloaded by the Report button is
// opened in Chromium as a reader would open it, on a desktop screen, on a phone, and printed.
//
// - Desktop (1280×900) and phone (390×844): nothing is fetched (the report is self-contained),
//   and the page itself never scrolls sideways (wide tables scroll inside their own box).
// - Print (Chromium's own "Save as PDF", A4, the report's print stylesheet): no table, figure or
//   line of text runs past the right margin, and every page carries its number ("page N of M",
//   from the stylesheet's @page margin box). Then the strain table is lengthened to 160 rows in
//   the page and printed again: every page that shows its rows repeats its header.
//
// Screenshots: test-output/e2e/<browser>-report-desktop.png, -report-phone.png, and the printed
// PDF -report-print.pdf.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A4 minus the report's page margins (12 mm each side), in CSS px at 96 px/in. */
const A4_CONTENT_WIDTH_PX = Math.floor(((210 - 24) / 25.4) * 96);
/** Flags for Chromium's print: the report's own @page rules decide size, margins and footer. */
const PRINT = { format: 'A4', preferCSSPageSize: true, printBackground: true };

/** Elements that reach past `width` px, outside boxes that scroll on their own. */
function overflowing(page, width) {
  return page.evaluate((w) => {
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
      if (el.closest('.scroll') && getComputedStyle(el.closest('.scroll')).overflowX !== 'visible') continue;
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > w + 1) out.push(`${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''} to ${Math.round(r.right)} px`);
    }
    return out;
  }, width);
}

/**
 * Open the report at `htmlPath` in `browser` and check it reads on a desktop, a phone and on
 * paper. Returns the figures the test prints. Throws with what is wrong.
 */
export async function checkReport(browser, htmlPath, outDir, prefix) {
  const figures = {};
  const html = readFileSync(htmlPath, 'utf8');
  for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: name === 'phone' ? 2 : 1 });
    const page = await context.newPage();
    const fetched = [];
    await page.route('**/*', (route) => {
      fetched.push(route.request().url());
      return route.abort();
    });
    await page.setContent(html, { waitUntil: 'load' });
    if (fetched.length) throw new Error(`the report fetched ${fetched.join(', ')}`);
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (sideways > 1) throw new Error(`${name}: the page scrolls sideways by ${sideways} px (${(await overflowing(page, viewport.width)).slice(0, 4).join('; ')})`);
    await page.screenshot({ path: join(outDir, `${prefix}report-${name}.png`) });
    if (name === 'desktop') {
      // The print layout, measured at the width of an A4 page's text.
      await page.setViewportSize({ width: A4_CONTENT_WIDTH_PX, height: 1000 });
      await page.emulateMedia({ media: 'print' });
      const wide = await overflowing(page, A4_CONTENT_WIDTH_PX);
      if (wide.length) throw new Error(`print: past the right margin: ${wide.slice(0, 6).join('; ')}`);
      // Chromium lays the printed pages out at the page's width, but only with the viewport
      // back at its size: a narrow viewport shrinks the print to its width.
      await page.setViewportSize(viewport);
      const pdfPath = join(outDir, `${prefix}report-print.pdf`);
      await page.pdf({ ...PRINT, path: pdfPath });
      figures.printedPages = checkPrintedPages(pdfPath);
      figures.longTablePages = await checkLongTable(page, join(outDir, `${prefix}report-print-long.pdf`));
    }
    await context.close();
  }
  return figures;
}

/** The text of page `k` of a PDF, laid out (pdftotext from poppler-utils). */
function pageText(pdfPath, k) {
  return execFileSync('pdftotext', ['-f', String(k), '-l', String(k), '-layout', pdfPath, '-'], { encoding: 'utf8' });
}

/**
 * The strain table (the one whose header has "mm/px") cloned to 160 rows named `row-N`, printed:
 * every page with such rows must show the header too. Returns the pages the table spans.
 */
async function checkLongTable(page, pdfPath) {
  const rows = await page.evaluate(() => {
    const table = [...document.querySelectorAll('table')].find((t) => t.tHead?.textContent.includes('mm/px'));
    if (!table) return 0;
    const body = table.tBodies[0];
    const first = body.rows[0];
    for (let k = body.rows.length; k < 160; k++) {
      const row = /** @type {HTMLTableRowElement} */ (first.cloneNode(true));
      row.cells[1].textContent = `row-${k}`;
      body.append(row);
    }
    return body.rows.length;
  });
  if (rows < 160) throw new Error('no strain table (header with "mm/px") in the report');
  await page.pdf({ ...PRINT, path: pdfPath });
  const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdfPath], { encoding: 'utf8' }))?.[1]);
  let spanned = 0;
  for (let k = 1; k <= pages; k++) {
    const text = pageText(pdfPath, k);
    if (!/row-\d+/.test(text)) continue;
    spanned++;
    if (!text.includes('mm/px')) throw new Error(`printed page ${k} continues the strain table without its header`);
  }
  if (spanned < 2) throw new Error(`the 160-row table spans ${spanned} page(s): not a test of page breaks`);
  return spanned;
}

/** The printed PDF's page count, once every page is seen to carry "page N of M". */
function checkPrintedPages(pdfPath) {
  const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdfPath], { encoding: 'utf8' }))?.[1]);
  if (!(pages >= 1)) throw new Error(`the printed report has no pages (${pdfPath})`);
  for (let k = 1; k <= pages; k++) {
    const text = pageText(pdfPath, k);
    if (!text.includes(`page ${k} of ${pages}`)) throw new Error(`printed page ${k} has no "page ${k} of ${pages}"`);
  }
  return pages;
}
