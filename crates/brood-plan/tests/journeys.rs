//! Journeys in scenario files: flows, picks, think steps, templates, checks, extraction, auth,
//! feeds and tags, each written in YAML and TOML and compared with the plan it should give.

use std::fmt::Write;
use std::path::Path;

use brood_plan::{
    compile, load_scenario, parse_scenario, Auth, Body, BodyTemplate, Builtin, Check, Extract,
    ExtractFrom, FeedExhausted, FeedOrder, FeedScope, Format, LoadOptions, Plan, RequestPlan,
    StepPlan, Template, TemplatePart, Wait,
};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn load(name: &str, opts: &LoadOptions) -> Plan {
    let scenario = load_scenario(Path::new(&data(name))).unwrap_or_else(|e| panic!("{e}"));
    compile(&scenario, opts).unwrap_or_else(|e| panic!("{e}"))
}

/// The plan's tasks and steps, one line each, nested by indentation.
fn shape(plan: &Plan) -> String {
    let mut out = String::new();
    for user in &plan.user_types {
        let _ = writeln!(out, "{}", user.name);
        for (label, steps) in [("on_start", &user.on_start), ("on_stop", &user.on_stop)] {
            if !steps.is_empty() {
                let _ = writeln!(out, "  {label}");
                steps_shape(plan, steps, 2, &mut out);
            }
        }
        for task in &user.tasks {
            let _ = writeln!(out, "  {} x{}", task.name, task.weight);
            steps_shape(plan, &task.steps, 2, &mut out);
        }
    }
    out
}

fn steps_shape(plan: &Plan, steps: &[StepPlan], depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for step in steps {
        match step {
            StepPlan::Request(r) => {
                let entry = &plan.entries[r.entry];
                let _ = writeln!(out, "{pad}{} {}", entry.method, entry.name);
            }
            StepPlan::Think(wait) => {
                let _ = writeln!(out, "{pad}think {wait}");
            }
            StepPlan::Pick(choices) => {
                let _ = writeln!(out, "{pad}pick");
                for choice in choices {
                    let _ = writeln!(out, "{pad}  {} x{}", choice.name, choice.weight);
                    steps_shape(plan, &choice.steps, depth + 2, out);
                }
            }
        }
    }
}

const SHOPPER_SHAPE: &str = "\
shopper
  on_start
    POST /shop/api/login
  on_stop
    GET /shop/health
  browse x3
    pick
      /shop/api/products x2
        GET /shop/api/products
      search x1
        GET /shop/api/search
  checkout x1
    GET /shop/api/products/[id]
    think 500ms
    POST /shop/api/cart
    think 1s
    pick
      choice 0 x1
        GET /shop/api/cart
      choice 1 x2
        think between(1s, 2s)
        GET /shop/
    POST /shop/api/checkout
admin
  task 0 x1
    GET /shop/health
";

#[test]
fn the_shopper_journey_is_the_same_plan_in_yaml_and_toml() {
    let yaml = load("shopper.yaml", &LoadOptions::default());
    let toml = load("shopper.toml", &LoadOptions::default());
    assert_eq!(yaml, toml);
    assert_eq!(shape(&yaml), SHOPPER_SHAPE);
}

fn request(steps: &[StepPlan], n: usize) -> &RequestPlan {
    let mut all = Vec::new();
    StepPlan::each_request(steps, &mut |r| all.push(r));
    all[n]
}

fn text(s: &str) -> TemplatePart {
    TemplatePart::Text(s.into())
}

fn var(s: &str) -> TemplatePart {
    TemplatePart::Var(s.into())
}

fn t(parts: Vec<TemplatePart>) -> Template {
    Template { parts }
}

#[test]
fn feeds_vars_and_on_start_compile() {
    let plan = load("shopper.yaml", &LoadOptions::default());
    let shopper = &plan.user_types[0];
    assert_eq!(
        shopper.vars,
        [
            ("page".into(), "1".into()),
            ("password".into(), "secret".into())
        ]
    );
    let users = &shopper.feeds[0];
    assert_eq!(
        (
            users.name.as_str(),
            users.order,
            users.per,
            users.when_exhausted
        ),
        (
            "users.csv",
            FeedOrder::Unique,
            FeedScope::User,
            FeedExhausted::StopUser
        )
    );
    assert_eq!(users.rows, [["alice"], ["bob"]]);
    let terms = &shopper.feeds[1];
    assert_eq!(
        (terms.order, terms.per),
        (FeedOrder::Random, FeedScope::Iteration)
    );
    assert_eq!(terms.when_exhausted, FeedExhausted::Recycle);

    let login = request(&shopper.on_start, 0);
    let template = login.template.as_ref().unwrap();
    assert_eq!(template.auth, None, "auth: none");
    assert_eq!(
        template.body,
        Some(BodyTemplate::Json(t(vec![
            text(r#"{"password":"#),
            TemplatePart::JsonValue(Box::new(var("password"))),
            text(r#","username":"#),
            TemplatePart::JsonValue(Box::new(var("username"))),
            text("}"),
        ])))
    );
    assert_eq!(template.url, Template::literal("/shop/api/login"));
    assert_eq!(
        login.checks,
        [
            Check::Status(vec![(200, 200)]),
            Check::JsonExists("/user_id".into())
        ]
    );
    assert_eq!(
        login.extract,
        [
            Extract {
                var: "token".into(),
                from: ExtractFrom::Json("/token".into())
            },
            Extract {
                var: "uid".into(),
                from: ExtractFrom::Json("/user_id".into())
            },
        ]
    );
}

#[test]
fn a_flow_carries_templates_think_steps_checks_and_extraction() {
    let plan = load("shopper.yaml", &LoadOptions::default());
    let shopper = &plan.user_types[0];
    let checkout = &shopper.tasks[1].steps;
    let product = request(checkout, 0);
    let product_t = product.template.as_ref().unwrap();
    assert_eq!(
        product_t.url,
        t(vec![
            text("/shop/api/products/"),
            TemplatePart::Builtin(Builtin::RandomInt { min: 1, max: 500 })
        ])
    );
    assert_eq!(product_t.auth, Some(Auth::Bearer(t(vec![var("token")]))));
    assert_eq!(
        product.url.to_string(),
        "http://127.0.0.1:8089/shop/api/products/{{random_int(1, 500)}}"
    );
    assert_eq!(
        checkout[1],
        StepPlan::Think(Wait::Constant(std::time::Duration::from_millis(500)))
    );

    let cart = request(checkout, 1);
    assert_eq!(cart.checks.len(), 7);
    assert_eq!(
        cart.extract[1].from,
        ExtractFrom::Regex {
            pattern: r#""items":(\d+)"#.into(),
            group: 1
        }
    );
    assert_eq!(cart.extract[0].from, ExtractFrom::Cookie("cart".into()));
    assert_eq!(
        cart.extract[2].from,
        ExtractFrom::Header("content-type".into())
    );
    let Some(BodyTemplate::Json(body)) = &cart.template.as_ref().unwrap().body else {
        panic!("a JSON body template");
    };
    assert_eq!(
        body.to_string(),
        r#"{"note":"for {{username}}","product_id":"{{product}}","qty":1}"#
    );
}

#[test]
fn queries_auth_headers_and_forms_are_templated() {
    let plan = load("shopper.yaml", &LoadOptions::default());
    let shopper = &plan.user_types[0];
    let search = match &shopper.tasks[0].steps[0] {
        StepPlan::Pick(choices) => request(&choices[1].steps, 0),
        other => panic!("{other:?}"),
    };
    let search_t = search.template.as_ref().unwrap();
    assert_eq!(search_t.url, Template::literal("/shop/api/search"));
    assert_eq!(search_t.query, [("q".to_string(), t(vec![var("term")]))]);

    let admin = request(&plan.user_types[1].tasks[0].steps, 0);
    let admin_t = admin.template.as_ref().unwrap();
    assert_eq!(
        admin_t.auth,
        Some(Auth::Basic {
            username: Template::literal("admin"),
            password: t(vec![TemplatePart::Env("ADMIN_PASSWORD".into())]),
        })
    );
    assert_eq!(
        admin_t.headers[0].1.to_string(),
        "run-{{uuid}}-{{timestamp}}"
    );
    let Some(BodyTemplate::Form(form)) = &admin_t.body else {
        panic!("a form body template");
    };
    assert_eq!(
        form[0].1.to_string(),
        "{{user_id}}+x",
        "literal text is encoded once"
    );
}

/// One request written in YAML and TOML (the `[[users.tasks]]` table's lines), compiled with
/// `vars: {id: 7, term: x}` and the host `http://h/api`.
fn one(yaml: &str, toml: &str) -> RequestPlan {
    let yaml_text = format!(
        "host: http://h/api\nusers:\n  - vars: {{id: 7, term: x, token: t}}\n    tasks:\n      - {yaml}\n"
    );
    let toml_text = format!(
        "host = \"http://h/api\"\n[[users]]\nvars = {{ id = 7, term = \"x\", token = \"t\" }}\n[[users.tasks]]\n{toml}\n"
    );
    let compiled = |text: &str, format| {
        let scenario = parse_scenario(text, format, "t").unwrap_or_else(|e| panic!("{e}\n{text}"));
        let plan = compile(&scenario, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        request(&plan.user_types[0].tasks[0].steps, 0).clone()
    };
    let a = compiled(&yaml_text, Format::Yaml);
    assert_eq!(a, compiled(&toml_text, Format::Toml), "{yaml}");
    a
}

/// What a request sends, with holes as written: the URL (or template URL and query), templated
/// headers, the body, and the auth.
fn sends(r: &RequestPlan) -> String {
    let mut out = format!("{} {}", r.method, r.url);
    if let Some(t) = &r.template {
        let _ = write!(out, " | url {}", t.url);
        for (k, v) in &t.query {
            let _ = write!(out, " | query {k}={v}");
        }
        for (k, v) in &t.headers {
            let _ = write!(out, " | header {k}: {v}");
        }
        match &t.auth {
            Some(Auth::Bearer(token)) => {
                let _ = write!(out, " | bearer {token}");
            }
            Some(Auth::Basic { username, password }) => {
                let _ = write!(out, " | basic {username} {password}");
            }
            None => {}
        }
    }
    if let Some(Body {
        bytes,
        content_type,
    }) = &r.body
    {
        let ct = content_type.as_deref().unwrap_or("-");
        let _ = write!(out, " | body {ct} {}", String::from_utf8_lossy(bytes));
    }
    for (name, value) in &r.headers {
        if name == "Authorization" {
            let _ = write!(out, " | Authorization: {value}");
        }
    }
    out
}

#[test]
fn templates_go_where_the_file_puts_them() {
    let cases = [
        (
            "{get: /p}",
            "get = \"/p\"",
            "GET http://h/api/p",
        ),
        (
            "{get: '/p/{{id}}?a b={{term}}'}",
            "get = \"/p/{{id}}?a b={{term}}\"",
            "GET http://h/api/p/{{id}}?a%20b={{term}} | url /api/p/{{id}}?a%20b={{term}}",
        ),
        (
            "{get: /s, query: {q: 'red {{term}}', n: 2}}",
            "get = \"/s\"\nquery = { q = \"red {{term}}\", n = 2 }",
            "GET http://h/api/s?q=red%20{{term}}&n=2 | url /api/s | query q=red%20{{term}} | query n=2",
        ),
        (
            "{get: 'http://other:81/x/{{id}}#frag'}",
            "get = \"http://other:81/x/{{id}}#frag\"",
            "GET http://other:81/x/{{id}} | url /x/{{id}}",
        ),
        (
            "{get: /h, headers: {X-Id: 'u-{{user_id}}', X-Plain: a}}",
            "get = \"/h\"\nheaders = { X-Id = \"u-{{user_id}}\", X-Plain = \"a\" }",
            "GET http://h/api/h | url /api/h | header X-Id: u-{{user_id}}",
        ),
        (
            "{post: /b, body: 'id={{id}}', headers: {Content-Type: text/plain}}",
            "post = \"/b\"\nbody = \"id={{id}}\"\nheaders = { Content-Type = \"text/plain\" }",
            "POST http://h/api/b | url /api/b | body text/plain id={{id}}",
        ),
        (
            "{post: /f, form: {q: 'a {{term}}', z: 'a b'}}",
            "post = \"/f\"\nform = { q = \"a {{term}}\", z = \"a b\" }",
            "POST http://h/api/f | url /api/f | body application/x-www-form-urlencoded q=a+{{term}}&z=a+b",
        ),
        (
            "{post: /j, json: {plain: 'x'}}",
            "post = \"/j\"\njson = { plain = \"x\" }",
            "POST http://h/api/j | body application/json {\"plain\":\"x\"}",
        ),
        (
            "{get: /a, auth: {bearer: '{{token}}'}}",
            "get = \"/a\"\nauth = { bearer = \"{{token}}\" }",
            "GET http://h/api/a | url /api/a | bearer {{token}} | Authorization: Bearer {{token}}",
        ),
        (
            "{get: /a, auth: {basic: {username: user, password: secret}}}",
            "get = \"/a\"\nauth = { basic = { username = \"user\", password = \"secret\" } }",
            "GET http://h/api/a | Authorization: Basic dXNlcjpzZWNyZXQ=",
        ),
        (
            "{get: /a, auth: {basic: {username: '{{token}}', password: '{{env.P}}'}}}",
            "get = \"/a\"\nauth = { basic = { username = \"{{token}}\", password = \"{{env.P}}\" } }",
            "GET http://h/api/a | url /api/a | basic {{token}} {{env.P}} | Authorization: Basic {{token}}:{{env.P}}",
        ),
        (
            "{get: '/lit/{{\"{{\"}}x}}'}",
            "get = '/lit/{{\"{{\"}}x}}'",
            "GET http://h/api/lit/%7B%7Bx%7D%7D",
        ),
    ];
    let mut wrong = Vec::new();
    for (yaml, toml, want) in cases {
        let got = sends(&one(yaml, toml));
        if got != want {
            wrong.push(format!("{yaml}\n  got:  {got}\n  want: {want}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn a_whole_string_hole_in_json_keeps_its_type() {
    let yaml = "host: http://h\nusers:\n  - vars: {id: 7, term: x}\n    tasks:\n      - {post: /j, json: {a: ['{{id}}', 'n={{id}}', \"q\\\"{{term}}\"], b: null}}\n";
    let scenario = parse_scenario(yaml, Format::Yaml, "t").unwrap();
    let plan = compile(&scenario, &LoadOptions::default()).unwrap();
    let r = request(&plan.user_types[0].tasks[0].steps, 0);
    let Some(BodyTemplate::Json(body)) = &r.template.as_ref().unwrap().body else {
        panic!("json");
    };
    assert_eq!(
        body.parts,
        [
            text("{\"a\":["),
            TemplatePart::JsonValue(Box::new(var("id"))),
            text(",\"n="),
            var("id"),
            text("\",\"q\\\""),
            var("term"),
            text("\"],\"b\":null}"),
        ]
    );
}
