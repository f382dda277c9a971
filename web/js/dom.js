// @ts-check
// Safe DOM construction. User-provided strings only ever become text nodes or
// attribute values, never markup.

/**
 * @template {string} T
 * @typedef {T extends `${infer N}.${string}` ? ElementOf<N> : ElementOf<T>} TagElement
 */
/**
 * @template {string} N
 * @typedef {N extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[N] : HTMLElement} ElementOf
 */

/**
 * Create an element.
 * @param {object|null} attrs  attributes; `class`, `dataset`, `style` (object), `on` (events),
 *   boolean attributes set when true; properties such as `value`/`checked` via `props`.
 * @param {...(Node|string|number|null|false|Array)} children
 * @template {string} T
 * @param {T} tag  tag name, optionally with classes: "button.btn.primary"
 * @returns {TagElement<T>} the element of the tag name (`HTMLInputElement` for "input.x", …);
 *   SVG tag names give SVG elements, typed as HTML for the callers' convenience (they set only
 *   attributes and children on those)
 */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const svg = SVG_TAGS.has(name);
  const el = /** @type {any} */ (svg ? document.createElementNS(SVG_NS, name) : document.createElement(name));
  if (classes.length) el.classList.add(...classes);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') {
        for (const c of String(v).split(/\s+/)) if (c) el.classList.add(c);
      } else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
      } else if (k === 'style') {
        for (const [sk, sv] of Object.entries(v)) el.style.setProperty(sk, String(sv));
      } else if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === 'props') {
        for (const [pk, pv] of Object.entries(v)) el[pk] = pv;
      } else if (v === true) {
        el.setAttribute(k, '');
      } else {
        el.setAttribute(k, String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export const SVG_NS = 'http://www.w3.org/2000/svg';
const SVG_TAGS = new Set(['svg', 'g', 'circle', 'line', 'polygon', 'polyline', 'path', 'text', 'rect', 'title', 'use', 'symbol']);

/** Remove all children and append new ones. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An inline SVG icon from the sprite in index.html. */
export function icon(name, label) {
  const s = document.createElementNS(SVG_NS, 'svg');
  s.setAttribute('class', 'icon');
  s.setAttribute('viewBox', '0 0 24 24');
  if (label) {
    s.setAttribute('role', 'img');
    s.setAttribute('aria-label', label);
  } else {
    s.setAttribute('aria-hidden', 'true');
  }
  const u = document.createElementNS(SVG_NS, 'use');
  u.setAttribute('href', `#i-${name}`);
  s.appendChild(u);
  return s;
}

/** True when keyboard focus is in a text field (shortcuts must not fire). */
export function isTyping(target) {
  const t = target instanceof Element ? target : document.activeElement;
  if (!t) return false;
  if (t.closest('dialog[open]')) return true;
  const tag = t.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (t.getAttribute('type') || 'text').toLowerCase();
    return !['button', 'checkbox', 'radio', 'range', 'submit', 'reset', 'file'].includes(type);
  }
  return /** @type {HTMLElement} */ (t).isContentEditable === true;
}

/** Debounce: call fn after `ms` of quiet; `.flush()` runs a pending call now. */
export function debounce(fn, ms) {
  let timer = null;
  let lastArgs = null;
  const d = (...args) => {
    lastArgs = args;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...lastArgs);
    }, ms);
  };
  d.flush = () => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
      fn(...lastArgs);
    }
  };
  d.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return d;
}
