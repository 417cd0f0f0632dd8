// @ts-check
// The shapes the JSON API sends (crates/brood-web/src/model.rs, fields.rs and compare.rs), for JSDoc only:
// the other modules refer to them as import("./types.js").Name; nothing here runs.

/**
 * The new-test form, every field as text (as the CLI's flags would be), plus three switches.
 * @typedef {Record<string, string | boolean>} RunRequest
 */

/** @typedef {"text" | "number" | "duration" | "textarea" | "select" | "checkbox"} FieldKind */

/** @typedef {"target" | "load" | "thresholds" | "where"} FieldSectionName */

/** @typedef {{ value: string, label: string }} Choice */

/**
 * When a field shows (and is sent): in one mode of the page, or with one value of the shape or
 * backend field; one key, e.g. `{ shape: "closed" }`.
 * @typedef {{ mode?: string, shape?: string, backend?: string }} Only
 */

/**
 * One field of the new-test form, from the server's field table (fields.rs).
 * @typedef {object} FormField
 * @property {string} name the RunRequest field; the input is #f-<name>, its error #e-<name>
 * @property {string} label
 * @property {FieldKind} kind
 * @property {string} placeholder empty for none
 * @property {string} help empty for none
 * @property {Choice[]} options a select's choices
 * @property {FieldSectionName} section
 * @property {string | null} [row] fields next to each other with the same row share one
 * @property {Only | null} [only]
 * @property {string | null} [default] what the server takes when the field is empty
 * @property {number | null} [lines] a textarea's height
 */

/** @typedef {{ name: string | null, fields: FormField[] }} FieldRow */

/**
 * Consecutive fields with the same condition; `id` (quick-box, shape-closed, backend-aws) is null
 * for fields always shown.
 * @typedef {{ id: string | null, only: Only | null, rows: FieldRow[] }} FieldBox
 */

/** @typedef {{ name: FieldSectionName, boxes: FieldBox[] }} FieldSection */

/**
 * @typedef {object} FieldError
 * @property {string} field
 * @property {string} message
 * @property {number} [line]
 * @property {number} [column]
 */

/** @typedef {{ name: string, label: string, regions: string }} BackendInfo */

/**
 * @typedef {object} UiConfig
 * @property {string} version
 * @property {BackendInfo[]} backends
 * @property {RunRequest} defaults
 * @property {string | null} [demo_target]
 */

/**
 * @typedef {object} RegionPreview
 * @property {string} name
 * @property {number} share
 * @property {number} workers
 * @property {number} instances
 * @property {string} instance_type
 */

/**
 * @typedef {object} Preview
 * @property {string} backend
 * @property {RegionPreview[]} regions
 * @property {string[]} plan
 * @property {number} cost_usd
 * @property {string} cost_note
 */

/**
 * One second of a run (t in Unix seconds).
 * @typedef {object} Point
 * @property {number} t
 * @property {number} rps
 * @property {number} fps
 * @property {number | null} [p50_ms]
 * @property {number | null} [p95_ms]
 * @property {number | null} [p99_ms]
 * @property {number} users
 * @property {number} dropped
 */

/**
 * One row of Locust's statistics table.
 * @typedef {object} EntryRow
 * @property {string} method
 * @property {string} name
 * @property {number} requests
 * @property {number} failures
 * @property {number | null} [median_ms]
 * @property {number | null} [p95_ms]
 * @property {number | null} [p99_ms]
 * @property {number | null} [avg_ms]
 * @property {number | null} [min_ms]
 * @property {number | null} [max_ms]
 * @property {number} avg_size
 * @property {number} current_rps
 * @property {number} current_fps
 */

/** @typedef {{ name: string, series: Point[], table: EntryRow[] }} View */

/**
 * @typedef {object} WorkerRow
 * @property {string} worker
 * @property {string} region
 * @property {string} state
 * @property {number} last_heartbeat_ms
 * @property {number | null} [cpu_percent]
 * @property {number} users
 * @property {number} requests
 * @property {number} failures
 */

/** @typedef {{ method: string, name: string, error: string, occurrences: number }} FailureRow */
/** @typedef {{ count: number, message: string, traceback: string, nodes: string[] }} ExceptionRow */
/** @typedef {{ at_ms: number, text: string }} Note */
/** One region's fleet while it comes up. @typedef {{ region: string, requested: number, starting: number, in_service: number, exited: number }} ProvisionRow */

/**
 * A run as the live view sees it.
 * @typedef {object} LiveState
 * @property {string} run_id
 * @property {string} state
 * @property {number} started_ms
 * @property {number | null} [start_at_ms]
 * @property {number | null} [run_time_s]
 * @property {View} all
 * @property {View[]} regions
 * @property {WorkerRow[]} workers
 * @property {ProvisionRow[]} [provisioning]
 * @property {FailureRow[]} failures
 * @property {ExceptionRow[]} exceptions
 * @property {Note[]} notes
 * @property {string[]} verdicts
 * @property {string | null} [end]
 */

/**
 * @typedef {object} Headline
 * @property {number} requests
 * @property {number} failures
 * @property {number} rps
 * @property {number} p50_ms
 * @property {number} p95_ms
 * @property {number} p99_ms
 */

/**
 * @typedef {object} RunSummary
 * @property {string} id
 * @property {number} started_ms
 * @property {number | null} [ended_ms]
 * @property {string} status
 * @property {string} backend
 * @property {string[]} regions
 * @property {string} description
 * @property {Headline | null} [headline]
 * @property {string | null} [note]
 */

/** @typedef {{ name: string, bytes: number, label: string }} Artifact */

/**
 * A run with its downloads, for its page.
 * @typedef {RunSummary & { settings: unknown, artifacts: Artifact[], live: boolean, rerunnable: boolean }} RunDetail
 */

/**
 * One endpoint's figures in one run of a comparison.
 * @typedef {object} Figures
 * @property {number} requests
 * @property {number} failures
 * @property {number} rps
 * @property {number | null} [p50_ms]
 * @property {number | null} [p95_ms]
 * @property {number | null} [p99_ms]
 */

/**
 * @typedef {object} CompareRow
 * @property {string} method
 * @property {string} name
 * @property {Figures | null} [a]
 * @property {Figures | null} [b]
 * @property {Figures | null} [diff]
 */

/**
 * What every view gets from main.js: the page's main element, the server's configuration, the
 * form's field table, and the live run's event stream (one at a time; a view that leaves the
 * live run closes it).
 * @typedef {object} App
 * @property {HTMLElement} main
 * @property {UiConfig} config
 * @property {FormField[]} fields
 * @property {EventSource | null} stream
 */

export {};
