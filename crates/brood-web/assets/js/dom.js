// @ts-check
// Element helpers: h() for HTML, s() for SVG, and lookups by id. Nothing runs at import.

/**
 * A child of h(): a node, text or a number; null, undefined and false are skipped.
 * @typedef {Node | string | number | boolean | null | undefined} Leaf
 */

/**
 * What h() accepts as a child: a leaf, or arrays of them nested up to three deep (flattened).
 * @typedef {Leaf | Leaf[] | Leaf[][] | Leaf[][][]} Child
 */

/**
 * Attributes: `onX` adds a listener for X, `value` sets the property, true is an empty
 * attribute, and null, undefined or false leave the attribute out.
 * @typedef {Record<string, any>} Attrs
 */

/**
 * Creates an element: h("div", {class: "x"}, "text", child, …).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {Child[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") /** @type {any} */ (el).value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

/**
 * Creates an SVG element; every attribute is set as given.
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {(Node | string | number)[]} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : String(c));
  return el;
}

/**
 * The element with this id, which the page or the current view is known to have.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el;
}

/**
 * Marks the navigation link of the current view.
 * @param {"nav-new" | "nav-runs" | "nav-live"} active
 */
export function setNav(active) {
  for (const id of ["nav-new", "nav-runs", "nav-live"]) {
    byId(id).classList.toggle("active", id === active);
  }
}
