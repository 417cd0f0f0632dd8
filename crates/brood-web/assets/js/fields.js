// @ts-check
// The new-test form's field table as the server serves it (GET /api/config's `fields`, written
// once in brood-web's src/fields.rs), and what the page derives from it: the layout in sections,
// boxes and rows, which fields show for the current mode, shape and backend, the values the form
// starts with, and the request it sends. Pure functions; nothing here touches the page.

/**
 * What decides which fields show: the page's `mode` (quick or scenario) and the value of each
 * field a condition names (`shape`, `backend`).
 * @typedef {Record<string, string>} FormState
 */

/**
 * True when a condition holds in `state` (no condition always holds).
 * @param {import("./types.js").Only | null | undefined} only
 * @param {FormState} state
 */
export function matches(only, state) {
  return !only || Object.entries(only).every(([key, value]) => state[key] === value);
}

/**
 * The id of the box that holds a condition's fields: quick-box, scenario-box, shape-closed,
 * backend-aws.
 * @param {import("./types.js").Only} only
 */
export function boxId(only) {
  const [key, value] = Object.entries(only)[0] || ["", ""];
  return key === "mode" ? `${value}-box` : `${key}-${value}`;
}

/**
 * The names of the fields that conditions read (the page's mode aside): when one of them
 * changes, which fields show may change.
 * @param {import("./types.js").FormField[]} fields
 * @returns {string[]}
 */
export function conditionFields(fields) {
  const names = new Set(fields.flatMap((f) => Object.keys(f.only || {})));
  return fields.map((f) => f.name).filter((name) => names.has(name));
}

/**
 * The fields laid out as the page shows them: sections in the order they first appear; in each,
 * boxes of consecutive fields with the same condition (`id` null for fields always shown); in
 * each box, rows of consecutive fields with the same row name (`name` null: a field on its own).
 * @param {import("./types.js").FormField[]} fields
 * @returns {import("./types.js").FieldSection[]}
 */
export function layout(fields) {
  /** @type {import("./types.js").FieldSection[]} */
  const sections = [];
  for (const field of fields) {
    let section = sections.find((s) => s.name === field.section);
    if (!section) {
      section = { name: field.section, boxes: [] };
      sections.push(section);
    }
    const id = field.only ? boxId(field.only) : null;
    let box = section.boxes[section.boxes.length - 1];
    if (!box || box.id !== id) {
      box = { id, only: field.only || null, rows: [] };
      section.boxes.push(box);
    }
    let row = box.rows[box.rows.length - 1];
    if (!row || row.name === null || row.name !== field.row) {
      row = { name: field.row || null, fields: [] };
      box.rows.push(row);
    }
    row.fields.push(field);
  }
  return sections;
}

/**
 * What a field starts with: the given value, or else a select's default (so an empty shape is
 * the server's default shape) and nothing for the others.
 * @param {import("./types.js").FormField} field
 * @param {import("./types.js").RunRequest} values
 * @returns {string | boolean}
 */
export function startValue(field, values) {
  const value = values[field.name];
  if (field.kind === "checkbox") return !!value;
  if (value !== undefined && value !== "") return String(value);
  return field.kind === "select" && field.default ? field.default : "";
}

/**
 * The request the form sends: every field the page has, as `read` gives it, except that a field
 * not shown in `state` (another mode's, shape's or backend's) is sent empty, or false.
 * @param {import("./types.js").FormField[]} fields
 * @param {(name: string) => string | boolean | undefined} read
 * @param {FormState} state
 * @returns {import("./types.js").RunRequest}
 */
export function requestOf(fields, read, state) {
  /** @type {import("./types.js").RunRequest} */
  const request = {};
  for (const field of fields) {
    const value = read(field.name);
    if (value === undefined) continue;
    if (matches(field.only, state)) request[field.name] = value;
    else request[field.name] = field.kind === "checkbox" ? false : "";
  }
  return request;
}
