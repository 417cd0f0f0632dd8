//! The mistakes a journey can hold (templates, variables, checks, extraction, auth, steps, picks,
//! tags and feeds) and the exact message each gets, in YAML and TOML: file, line, column,
//! field path, message and hint.

use std::path::Path;

use brood_plan::{compile, parse_scenario, Format, LoadOptions};

fn error(format: Format, text: &str) -> String {
    let label = match format {
        Format::Yaml => "s.yaml",
        Format::Toml => "s.toml",
    };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let result = parse_scenario(text, format, label).and_then(|mut s| {
        s.read_feeds(Path::new(dir))?;
        compile(&s, &LoadOptions::default())
    });
    match result {
        Ok(_) => panic!("accepted {text:?}"),
        Err(e) => e.to_string(),
    }
}

fn check(cases: &[(&str, &str)], format: Format) {
    let mut wrong = Vec::new();
    for (text, want) in cases {
        let got = error(format, text);
        if &got != want {
            wrong.push(format!("{text}\n  got:  {got}\n  want: {want}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// A scenario and the whole message it gets, in YAML.
const YAML_CASES: &[(&str, &str)] = &[
    (
        "host: http://h\nusers:\n  - tasks:\n      - get: '/p/{{id'\n",
        r#"s.yaml:4:14: users[0].tasks[0].get: invalid template "/p/{{id": unclosed "{{" at column 4 (hint: inside {{ }} write a variable name, env.NAME, user_id, iteration, uuid, timestamp, timestamp_ms or random_int(a, b); write {{"{{"}} for a literal {{)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - get: '/p/{{rand_int(1, 2)}}'\n",
        r#"s.yaml:4:14: users[0].tasks[0].get: invalid template "/p/{{rand_int(1, 2)}}": unknown function "rand_int" (did you mean "random_int"?) (hint: inside {{ }} write a variable name, env.NAME, user_id, iteration, uuid, timestamp, timestamp_ms or random_int(a, b); write {{"{{"}} for a literal {{)"#,
    ),
    (
        "host: http://h\nusers:\n  - vars: {token: x}\n    tasks:\n      - get: '/p/{{tokn}}'\n",
        r#"s.yaml:5:14: users[0].tasks[0].get: unknown variable "tokn" (did you mean "token"?) (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - get: '/p/{{nothing}}'\n",
        r#"s.yaml:4:14: users[0].tasks[0].get: unknown variable "nothing" (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, query: {q: '{{term}}'}}\n",
        r#"s.yaml:4:30: users[0].tasks[0].query.q: unknown variable "term" (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {post: /a, json: {a: [1, {b: '{{x}}'}]}}\n",
        r#"s.yaml:4:38: users[0].tasks[0].json.a[1].b: unknown variable "x" (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {post: /a, json: {'{{k}}': 1}}\n",
        r#"s.yaml:4:36: users[0].tasks[0].json.{{k}}: keys of a JSON body cannot be templates (hint: put the template in the value)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, headers: {X-A: '{{x}}'}}\n",
        r#"s.yaml:4:34: users[0].tasks[0].headers.X-A: unknown variable "x" (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {post: /a, form: {a: '{{x}}'}}\n",
        r#"s.yaml:4:30: users[0].tasks[0].form.a: unknown variable "x" (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {post: /a, body: '{{x}}'}\n",
        r#"s.yaml:4:26: users[0].tasks[0].body: unknown variable "x" (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host: http://h\nusers:\n  - auth: {bearer: '{{token}}'}\n    tasks: [GET /a]\n",
        r#"s.yaml:3:20: users[0].auth.bearer: unknown variable "token" (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host: http://h\nusers:\n  - auth: {bearer: '{{token}}'}\n    on_start:\n      - post: /login\n        extract: {token: {json: /token}}\n    tasks: [GET /a]\n",
        r#"s.yaml:5:9: users[0].on_start[0]: {{token}} is set only by this request's own `extract`, so it is not set when the request is sent (hint: the auth comes from the user type or the defaults: give this request `auth: none`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - get: 'http://{{h}}/a'\n",
        r#"s.yaml:4:14: users[0].tasks[0].get: templates may only be in the path and query of a URL, not in "http://{{h}}" (hint: write the host itself, or leave it out and set `host` or --host)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {status: 700}}\n",
        r#"s.yaml:4:35: users[0].tasks[0].check.status: invalid status "700": status codes run from 100 to 599 (hint: write a status (200), a class (2xx), a range (200-299), or a list of them)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {status: [200, 6xx]}}\n",
        r#"s.yaml:4:41: users[0].tasks[0].check.status[1]: invalid status "6xx": classes run from 1xx to 5xx (hint: write a status (200), a class (2xx), a range (200-299), or a list of them)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {status: 299-200}}\n",
        r#"s.yaml:4:35: users[0].tasks[0].check.status: invalid status "299-200": the range ends before it starts (hint: write a status (200), a class (2xx), a range (200-299), or a list of them)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {status: []}}\n",
        r#"s.yaml:4:35: users[0].tasks[0].check.status: no status given (hint: write a status (200), a class (2xx), a range (200-299), or a list of them)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {body_matches: '('}}\n",
        r#"s.yaml:4:41: users[0].tasks[0].check.body_matches: invalid regex "(": unclosed group (hint: patterns use Rust regex syntax, e.g. "id":\s*(\d+))"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {json: {items: {exists: true}}}}\n",
        r#"s.yaml:4:41: users[0].tasks[0].check.json.items: invalid JSON pointer "items": it must start with "/" (hint: a JSON pointer starts with / and names keys or indexes, e.g. /items/0/id (empty for the whole body))"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {json: {/a: {exists: false}}}}\n",
        r#"s.yaml:4:38: users[0].tasks[0].check.json./a: `exists: false` cannot be checked (hint: check that the value exists, or that it `equals` something)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {json: {/a: {}}}}\n",
        r#"s.yaml:4:38: users[0].tasks[0].check.json./a: give `exists: true` or `equals: VALUE`"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {json: {/a: {eq: 1}}}}\n",
        r#"s.yaml:4:39: users[0].tasks[0].check.json./a.eq: unknown field "eq" (did you mean "equals"?)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {statsu: 200}}\n",
        r#"s.yaml:4:27: users[0].tasks[0].check.statsu: unknown field "statsu" (did you mean "status"?)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, check: {response_time_below: soon}}\n",
        r#"s.yaml:4:48: users[0].tasks[0].check.response_time_below: invalid duration "soon": expected a number (hint: write a number with a unit: 500ms, 90s, 2m, 1h30m, 1.5s (a bare number means seconds))"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {x: {regex: '('}}}\n",
        r#"s.yaml:4:40: users[0].tasks[0].extract.x.regex: invalid regex "(": unclosed group (hint: patterns use Rust regex syntax, e.g. "id":\s*(\d+))"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {x: {regex: 'a(b)', group: 2}}}\n",
        r#"s.yaml:4:55: users[0].tasks[0].extract.x.group: the pattern has 1 capture group(s), so there is no group 2 (hint: group 0 is the whole match, 1 the first (...))"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {x: {json: a}}}\n",
        r#"s.yaml:4:39: users[0].tasks[0].extract.x.json: invalid JSON pointer "a": it must start with "/" (hint: a JSON pointer starts with / and names keys or indexes, e.g. /items/0/id (empty for the whole body))"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {x: {json: /a, header: b}}}\n",
        r#"s.yaml:4:51: users[0].tasks[0].extract.x.header: `header` cannot be combined with `json` (hint: take a value from one of json: /pointer, regex: PATTERN, header: NAME or cookie: NAME)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {x: {}}}\n",
        r#"s.yaml:4:32: users[0].tasks[0].extract.x: nothing to extract from (hint: take a value from one of json: /pointer, regex: PATTERN, header: NAME or cookie: NAME)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {uuid: {json: /a}}}\n",
        r#"s.yaml:4:35: users[0].tasks[0].extract.uuid: "uuid" is a built-in name; pick another variable name"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {1x: {json: /a}}}\n",
        r#"s.yaml:4:33: users[0].tasks[0].extract.1x: invalid variable name "1x" (hint: a name is letters, digits and _, not starting with a digit)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {x: {cookie: c, group: 1}}}\n",
        r#"s.yaml:4:51: users[0].tasks[0].extract.x.group: `group` belongs to `regex`"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, extract: {x: {jsn: /a}}}\n",
        r#"s.yaml:4:33: users[0].tasks[0].extract.x.jsn: unknown field "jsn" (did you mean "json"?)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, think: soon}\n",
        r#"s.yaml:4:26: users[0].tasks[0].think: invalid wait "soon" (hint: use 1s, 1s..3s, between(1s, 3s), constant(1s), constant_pacing(2s), constant_throughput(0.5) or none)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - steps: [GET /a, {think: constant_pacing(1s)}]\n",
        r#"s.yaml:4:33: users[0].tasks[0].steps[1].think: think time is a pause, not a pace (hint: use 1s, 1s..3s or between(1s, 3s))"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - pick:\n          - pick: [GET /a]\n",
        r#"s.yaml:5:19: users[0].tasks[0].pick[0].pick: `pick` cannot be nested inside `pick` (hint: a pick's choices hold requests, think steps and flows; move the inner choices up)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - pick:\n          - steps: [GET /a, {pick: [GET /b]}]\n",
        r#"s.yaml:5:36: users[0].tasks[0].pick[0].steps[1].pick: `pick` cannot be nested inside `pick` (hint: a pick's choices hold requests, think steps and flows; move the inner choices up)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - pick: []\n",
        r#"s.yaml:4:15: users[0].tasks[0].pick: `pick` is empty"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - steps: []\n",
        r#"s.yaml:4:16: users[0].tasks[0].steps: `steps` is empty"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - steps: [{think: 1s}]\n",
        r#"s.yaml:4:9: users[0].tasks[0]: the task sends no request (hint: think steps pause between requests; add a request)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - steps: [{name: x}]\n",
        r#"s.yaml:4:17: users[0].tasks[0].steps[0]: the step sends no request (hint: a step is a request (e.g. `get: /path`), `think: 1s`, or `pick: [...]`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - steps: [{get: /a, weight: 2}]\n",
        r#"s.yaml:4:35: users[0].tasks[0].steps[0].weight: `weight` belongs to a task or a pick's choice (hint: steps of a flow run in order; use `pick` for weighted choices)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - steps: [{steps: [GET /a]}]\n",
        r#"s.yaml:4:25: users[0].tasks[0].steps[0].steps: `steps` cannot be used inside a step (hint: a step is a request (e.g. `get: /path`), `think: 1s`, or `pick: [...]`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - steps: [{pick: [GET /a], name: x}]\n",
        r#"s.yaml:4:40: users[0].tasks[0].steps[0].name: `name` cannot be combined with `pick` (hint: a pick step has only `pick` and `tags`; its choices hold the requests)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {pick: [GET /a], json: {}}\n",
        r#"s.yaml:4:32: users[0].tasks[0].json: `json` belongs inside each choice of pick"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {steps: [GET /a], think: 1s}\n",
        r#"s.yaml:4:34: users[0].tasks[0].think: `think` belongs inside each of steps"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, method: POST}\n",
        r#"s.yaml:4:27: users[0].tasks[0].method: `method` cannot be combined with `get` (hint: the key `get` already says the method)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, tags: ['a b']}\n",
        r#"s.yaml:4:25: users[0].tasks[0].tags: invalid tag "a b" (hint: a tag is one word without spaces or commas, e.g. checkout)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, tgas: [a]}\n",
        r#"s.yaml:4:19: users[0].tasks[0].tgas: unknown field "tgas" (did you mean "tags"?)"#,
    ),
    (
        "host: http://h\nusers:\n  - on_start: [{get: /a, tags: [x]}]\n    tasks: [GET /a]\n",
        r#"s.yaml:3:32: users[0].on_start[0].tags: tags have no effect in on_start (hint: on_start runs whatever --tags say; tag the tasks instead)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, auth: {bearer: a, basic: {username: u, password: p}}}\n",
        r#"s.yaml:4:44: users[0].tasks[0].auth.basic: `basic` cannot be combined with `bearer`"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, auth: {}}\n",
        r#"s.yaml:4:25: users[0].tasks[0].auth: auth needs `bearer` or `basic` (hint: write {bearer: "{{token}}"} or {basic: {username: U, password: P}})"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, auth: sometimes}\n",
        r#"s.yaml:4:25: users[0].tasks[0].auth: invalid auth "sometimes" (hint: write {bearer: "{{token}}"}, {basic: {username: U, password: P}} or none)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, auth: {basic: {username: u}}}\n",
        r#"s.yaml:4:33: users[0].tasks[0].auth.basic: missing field "password""#,
    ),
    (
        "host: http://h\nusers:\n  - vars: {'a b': 1}\n    tasks: [GET /a]\n",
        r#"s.yaml:3:19: users[0].vars.a b: invalid variable name "a b" (hint: a name is letters, digits and _, not starting with a digit)"#,
    ),
    (
        "host: http://h\nusers:\n  - vars: {a: '{{b}}'}\n    tasks: [GET /a]\n",
        r#"s.yaml:3:15: users[0].vars.a: a variable's first value is plain text, not a template (hint: set it from another value with `extract`, or write the value itself)"#,
    ),
    (
        "host: http://h\nusers:\n  - feeds: [{file: feeds/empty.csv}]\n    tasks: [GET /a]\n",
        r#"s.yaml:3:20: users[0].feeds[0].file: the feed file "feeds/empty.csv" is empty (hint: its first line names the columns, e.g. username,password)"#,
    ),
    (
        "host: http://h\nusers:\n  - feeds: [{file: feeds/header-only.csv}]\n    tasks: [GET /a]\n",
        r#"s.yaml:3:20: users[0].feeds[0].file: the feed file "feeds/header-only.csv" has a header but no rows"#,
    ),
    (
        "host: http://h\nusers:\n  - feeds: [{file: feeds/ragged.csv}]\n    tasks: [GET /a]\n",
        r#"s.yaml:3:20: users[0].feeds[0].file: row 2 (line 3) of "feeds/ragged.csv" has 1 field(s), but the header has 2"#,
    ),
    (
        "host: http://h\nusers:\n  - feeds: [{file: feeds/bad-column.csv}]\n    tasks: [GET /a]\n",
        r#"s.yaml:3:20: users[0].feeds[0].file: column 1 of "feeds/bad-column.csv" is named "first name", which is not a variable name (hint: a name is letters, digits and _, not starting with a digit)"#,
    ),
    (
        "host: http://h\nusers:\n  - vars: {token: a}\n    feeds: [{file: feeds/token.csv}]\n    tasks: [GET /a]\n",
        r#"s.yaml:4:20: users[0].feeds[0].file: column "token" of "feeds/token.csv" is also set by `vars` (hint: give each variable one source)"#,
    ),
    (
        "host: http://h\nusers:\n  - feeds: [{file: terms.csv, order: rnd}]\n    tasks: [GET /a]\n",
        r#"s.yaml:3:38: users[0].feeds[0].order: unknown value "rnd" (did you mean "random"?)"#,
    ),
    (
        "host: http://h\nusers:\n  - feeds: [{file: terms.csv, when_exhausted: stop_run}]\n    tasks: [GET /a]\n",
        r#"s.yaml:3:47: users[0].feeds[0].when_exhausted: `when_exhausted` applies only to `order: unique` (hint: round_robin and random feeds never run out of rows)"#,
    ),
    (
        "host: http://h\nusers:\n  - feeds: [{file: terms.csv, per: task}]\n    tasks: [GET /a]\n",
        r#"s.yaml:3:36: users[0].feeds[0].per: unknown value "task" (hint: expected one of: iteration, user)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {get: /a, request: GET /b}\n",
        r#"s.yaml:4:15: users[0].tasks[0].get: `get` cannot be combined with `request` (hint: give `request`, `requests`, `steps`, `pick`, or a method key such as `get: /path`)"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n      - {request: {get: /a, think: 1s, tags: [a]}}\n",
        r#"s.yaml:4:46: users[0].tasks[0].request.tags: tags belong to the task or step, not to `request`"#,
    ),
];

/// A scenario and the whole message it gets, in TOML.
const TOML_CASES: &[(&str, &str)] = &[
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nget = \"/p/{{id\"\n",
        r#"s.toml:4:7: users[0].tasks[0].get: invalid template "/p/{{id": unclosed "{{" at column 4 (hint: inside {{ }} write a variable name, env.NAME, user_id, iteration, uuid, timestamp, timestamp_ms or random_int(a, b); write {{"{{"}} for a literal {{)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\nvars = { token = \"x\" }\n[[users.tasks]]\nget = \"/p/{{tokn}}\"\n",
        r#"s.toml:5:7: users[0].tasks[0].get: unknown variable "tokn" (did you mean "token"?) (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\npost = \"/a\"\njson = { a = [1, { b = \"{{x}}\" }] }\n",
        r#"s.toml:5:24: users[0].tasks[0].json.a[1].b: unknown variable "x" (hint: define it in the user type's `vars`, as a feed column, or with `extract`)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\nauth = { bearer = \"{{token}}\" }\ntasks = [\"GET /a\"]\n[[users.on_start]]\npost = \"/login\"\nextract = { token = { json = \"/token\" } }\n",
        r#"s.toml:5:1: users[0].on_start[0]: {{token}} is set only by this request's own `extract`, so it is not set when the request is sent (hint: the auth comes from the user type or the defaults: give this request `auth: none`)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nget = \"/a\"\ncheck = { status = [200, \"6xx\"] }\n",
        r#"s.toml:5:26: users[0].tasks[0].check.status[1]: invalid status "6xx": classes run from 1xx to 5xx (hint: write a status (200), a class (2xx), a range (200-299), or a list of them)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nget = \"/a\"\n[users.tasks.check]\nbody_matches = \"(\"\n",
        r#"s.toml:6:16: users[0].tasks[0].check.body_matches: invalid regex "(": unclosed group (hint: patterns use Rust regex syntax, e.g. "id":\s*(\d+))"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nget = \"/a\"\ncheck = { json = { items = { exists = true } } }\n",
        r#"s.toml:5:28: users[0].tasks[0].check.json.items: invalid JSON pointer "items": it must start with "/" (hint: a JSON pointer starts with / and names keys or indexes, e.g. /items/0/id (empty for the whole body))"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nget = \"/a\"\nextract = { x = { regex = \"a(b)\", group = 2 } }\n",
        r#"s.toml:5:43: users[0].tasks[0].extract.x.group: the pattern has 1 capture group(s), so there is no group 2 (hint: group 0 is the whole match, 1 the first (...))"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nget = \"/a\"\nextract = { uuid = { json = \"/a\" } }\n",
        r#"s.toml:5:20: users[0].tasks[0].extract.uuid: "uuid" is a built-in name; pick another variable name"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nsteps = [\"GET /a\", { think = \"constant_pacing(1s)\" }]\n",
        r#"s.toml:4:30: users[0].tasks[0].steps[1].think: think time is a pause, not a pace (hint: use 1s, 1s..3s or between(1s, 3s))"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\npick = [{ steps = [\"GET /a\", { pick = [\"GET /b\"] }] }]\n",
        r#"s.toml:4:39: users[0].tasks[0].pick[0].steps[1].pick: `pick` cannot be nested inside `pick` (hint: a pick's choices hold requests, think steps and flows; move the inner choices up)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\n[[users.tasks.steps]]\nget = \"/a\"\nweight = 2\n",
        r#"s.toml:6:10: users[0].tasks[0].steps[0].weight: `weight` belongs to a task or a pick's choice (hint: steps of a flow run in order; use `pick` for weighted choices)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nget = \"/a\"\ntags = [\"a b\"]\n",
        r#"s.toml:5:8: users[0].tasks[0].tags: invalid tag "a b" (hint: a tag is one word without spaces or commas, e.g. checkout)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\ntasks = [\"GET /a\"]\n[[users.on_start]]\nget = \"/a\"\ntags = [\"x\"]\n",
        r#"s.toml:6:8: users[0].on_start[0].tags: tags have no effect in on_start (hint: on_start runs whatever --tags say; tag the tasks instead)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\ntasks = [\"GET /a\"]\nauth = { basic = { username = \"u\" } }\n",
        r#"s.toml:4:18: users[0].auth.basic: missing field "password""#,
    ),
    (
        "host = \"http://h\"\n[[users]]\ntasks = [\"GET /a\"]\n[[users.feeds]]\nfile = \"feeds/ragged.csv\"\n",
        r#"s.toml:5:8: users[0].feeds[0].file: row 2 (line 3) of "feeds/ragged.csv" has 1 field(s), but the header has 2"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\ntasks = [\"GET /a\"]\n[[users.feeds]]\nfile = \"terms.csv\"\norder = \"rnd\"\n",
        r#"s.toml:6:9: users[0].feeds[0].order: unknown value "rnd" (did you mean "random"?)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\ntasks = [\"GET /a\"]\nfeeds = [{ file = \"terms.csv\", when_exhausted = \"stop_run\" }]\n",
        r#"s.toml:4:49: users[0].feeds[0].when_exhausted: `when_exhausted` applies only to `order: unique` (hint: round_robin and random feeds never run out of rows)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\n[[users.tasks]]\nget = \"http://{{h}}/a\"\n",
        r#"s.toml:4:7: users[0].tasks[0].get: templates may only be in the path and query of a URL, not in "http://{{h}}" (hint: write the host itself, or leave it out and set `host` or --host)"#,
    ),
];

#[test]
fn yaml_journey_mistakes() {
    check(YAML_CASES, Format::Yaml);
}

#[test]
fn toml_journey_mistakes() {
    check(TOML_CASES, Format::Toml);
}

#[test]
fn a_missing_feed_file_names_the_file() {
    let text = "host: http://h\nusers:\n  - feeds: [{file: missing.csv}]\n    tasks: [GET /a]\n";
    let got = error(Format::Yaml, text);
    assert!(
        got.starts_with(
            "s.yaml:3:20: users[0].feeds[0].file: cannot read the feed file \"missing.csv\": "
        ),
        "{got}"
    );
    assert!(got.ends_with("/tests/data and below)"), "{got}");
}

#[test]
fn feeds_must_be_read_before_compiling() {
    let text = "host: http://h\nusers:\n  - feeds: [{file: terms.csv}]\n    tasks: [GET /a]\n";
    let scenario = parse_scenario(text, Format::Yaml, "s.yaml").unwrap();
    assert_eq!(
        compile(&scenario, &LoadOptions::default()).unwrap_err().to_string(),
        "s.yaml:3:20: users[0].feeds[0].file: the feed file \"terms.csv\" has not been read \
         (hint: load the scenario with load_scenario, which reads feed files next to it (or call Scenario::read_feeds))"
    );
}

#[test]
fn journeys_built_in_code_are_checked_too() {
    use brood_plan::{RequestSpec, Scenario, Step};
    let base = || Scenario::quick("http://h/").unwrap();
    let inner = base().users[0].tasks[0].clone();
    let mut nested = base();
    let pick = |choices| Step::Pick {
        choices,
        tags: Vec::new(),
    };
    let mut choice = inner.clone();
    choice.steps = vec![pick(vec![inner.clone()])];
    nested.users[0].tasks[0].steps = vec![pick(vec![choice])];
    let mut think_only = base();
    think_only.users[0].tasks[0].steps = vec![Step::Think {
        wait: brood_plan::Wait::Constant(std::time::Duration::from_secs(1)),
        tags: Vec::new(),
    }];
    let mut templated_host = base();
    templated_host.users[0].tasks[0].steps = vec![Step::Request(Box::new(RequestSpec::new(
        "GET",
        "http://{{h}}/x",
    )))];
    let cases = [
        (
            nested,
            "<scenario>: users[0].tasks[0].pick[0].pick: `pick` cannot be nested inside `pick` \
             (hint: a pick's choices hold requests, think steps and flows; move the inner choices up)",
        ),
        (
            think_only,
            "<scenario>: users[0].tasks[0]: the task sends no request \
             (hint: think steps pause between requests; add a request)",
        ),
        (
            templated_host,
            "<scenario>: users[0].tasks[0]: templates may only be in the path and query of a URL, \
             not in \"http://{{h}}\" (hint: write the host itself, or leave it out and set `host` or --host)",
        ),
    ];
    for (scenario, want) in cases {
        let err = compile(&scenario, &LoadOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}
