//! `--tags` and `--exclude-tags` (Locust's semantics), the expected request mix, and the plan as
//! `--dry-run` prints it.

use std::path::Path;

use brood_plan::{compile, load_scenario, parse_scenario, Format, LoadOptions, Plan, StepPlan};

fn shopper(tags: &[&str], exclude: &[&str]) -> Result<Plan, String> {
    let path = format!("{}/tests/data/shopper.yaml", env!("CARGO_MANIFEST_DIR"));
    let scenario = load_scenario(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    let opts = LoadOptions {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        exclude_tags: exclude.iter().map(|t| t.to_string()).collect(),
        ..LoadOptions::default()
    };
    compile(&scenario, &opts).map_err(|e| e.to_string())
}

/// Tasks and steps as `name: step, step, [pick choice: step | choice: step]`, one task a line.
fn outline(plan: &Plan) -> String {
    fn steps(plan: &Plan, list: &[StepPlan]) -> String {
        let items: Vec<String> = list
            .iter()
            .map(|s| match s {
                StepPlan::Request(r) => plan.entries[r.entry].name.clone(),
                StepPlan::Think(w) => format!("think {w}"),
                StepPlan::Pick(choices) => {
                    let inner: Vec<String> = choices
                        .iter()
                        .map(|c| format!("{}: {}", c.name, steps(plan, &c.steps)))
                        .collect();
                    format!("[{}]", inner.join(" | "))
                }
            })
            .collect();
        items.join(", ")
    }
    let mut lines = Vec::new();
    for user in &plan.user_types {
        for task in &user.tasks {
            lines.push(format!(
                "{}.{}: {}",
                user.name,
                task.name,
                steps(plan, &task.steps)
            ));
        }
    }
    lines.join("\n")
}

#[test]
fn tags_keep_and_exclude_tasks_choices_and_steps() {
    let cases: &[(&[&str], &[&str], &str)] = &[
        (
            &["browse"],
            &[],
            "shopper.browse: [/shop/api/products: /shop/api/products | search: /shop/api/search]",
        ),
        (&["search"], &[], "shopper.browse: [search: /shop/api/search]"),
        (
            &["view"],
            &[],
            "shopper.checkout: think 1s, [choice 0: /shop/api/cart]",
        ),
        (
            &["pay", "search"],
            &[],
            "shopper.browse: [search: /shop/api/search]\nshopper.checkout: think 1s, /shop/api/checkout",
        ),
        (
            &[],
            &["buy"],
            "shopper.browse: [/shop/api/products: /shop/api/products | search: /shop/api/search]\n\
             admin.task 0: /shop/health",
        ),
        (
            &["browse", "buy"],
            &["search", "pay", "view"],
            "shopper.browse: [/shop/api/products: /shop/api/products]\n\
             shopper.checkout: /shop/api/products/[id], think 500ms, /shop/api/cart, think 1s, \
             [choice 1: think between(1s, 2s), /shop/]",
        ),
    ];
    for (tags, exclude, want) in cases {
        let plan = shopper(tags, exclude).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            outline(&plan),
            *want,
            "--tags {tags:?} --exclude-tags {exclude:?}"
        );
        // Every entry is used, and every request's entry exists.
        let used: Vec<usize> = plan.requests().iter().map(|r| r.entry).collect();
        for i in 0..plan.entries.len() {
            assert!(used.contains(&i), "entry {i} unused: {:?}", plan.entries[i]);
        }
    }
    let plan = shopper(&["view"], &[]).unwrap();
    let names: Vec<&str> = plan.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["/shop/api/login", "/shop/health", "/shop/api/cart"]);
    assert_eq!(plan.user_types.len(), 1, "admin has no tagged task");
    assert_eq!(
        plan.user_types[0].on_start.len(),
        1,
        "on_start runs whatever the tags"
    );
}

#[test]
fn tags_that_leave_nothing_name_the_flag() {
    assert_eq!(
        shopper(&["nope"], &[]).unwrap_err(),
        "--tags: no task is left to run with tags nope \
         (hint: the scenario's tags: browse, buy, pay, search, view)"
    );
    let text = "host: http://h\nusers:\n  - tasks: [{get: /a, tags: [x]}]\n";
    let scenario = parse_scenario(text, Format::Yaml, "t.yaml").unwrap();
    let opts = LoadOptions {
        exclude_tags: vec!["x".into()],
        ..LoadOptions::default()
    };
    assert_eq!(
        compile(&scenario, &opts).unwrap_err().to_string(),
        "--exclude-tags: every task is excluded (hint: the scenario's tags: x)"
    );
}

#[test]
fn expected_mix_weighs_user_types_tasks_and_picks() {
    let plan = shopper(&[], &[]).unwrap();
    let mix: Vec<(String, f64)> = plan
        .expected_mix()
        .into_iter()
        .map(|(e, share)| {
            (
                format!("{} {}", e.method, e.name),
                (share * 1e4).round() / 1e4,
            )
        })
        .collect();
    let want = [
        ("POST /shop/api/login", 0.0),
        ("GET /shop/health", 0.16),
        ("GET /shop/api/products", 0.24),
        ("GET /shop/api/search", 0.12),
        ("GET /shop/api/products/[id]", 0.12),
        ("POST /shop/api/cart", 0.12),
        ("GET /shop/api/cart", 0.04),
        ("GET /shop/", 0.08),
        ("POST /shop/api/checkout", 0.12),
    ];
    let want: Vec<(String, f64)> = want.iter().map(|(n, s)| (n.to_string(), *s)).collect();
    assert_eq!(mix, want);
}

#[test]
fn describe_reads_like_the_file() {
    let text = "\
host: http://h
users:
  - name: buyer
    weight: 2
    wait: 1s..3s
    vars: {token: t}
    on_start: [POST /login]
    tasks:
      - name: look
        weight: 3
        pick:
          - {get: '/p/{{random_int(1, 9)}}', name: '/p/[id]', weight: 2}
          - GET /q
      - name: buy
        steps:
          - post: /cart
            auth: {bearer: '{{token}}'}
            json: {id: 1}
            check: {status: 2xx, json: {/id: {equals: 1}}}
            extract: {cart: {cookie: cart}}
            think: 500ms
  - name: ops
    fixed_count: 1
    tasks: [GET /health]
";
    let scenario = parse_scenario(text, Format::Yaml, "t.yaml").unwrap();
    let plan = compile(&scenario, &LoadOptions::default()).unwrap();
    let want = r#"user type "buyer": weight 2 (100.0% of the weighted users), wait between(1s, 3s)
  vars: token = "t"
  on_start:
    POST http://h/login
  task "look": weight 3 (75.0%)
    pick one:
      choice "/p/[id]": weight 2 (66.7%)
        GET http://h/p/{{random_int(1, 9)}}  (as "/p/[id]")
      choice "choice 1": weight 1 (33.3%)
        GET http://h/q
  task "buy": weight 1 (25.0%)
    POST http://h/cart
      auth bearer {{token}}
      body {"id":1}
      check status 2xx
      check json "/id" equals 1
      extract cart from cookie cart
    think 500ms
user type "ops": fixed count 1, wait none
  task "task 0": weight 1 (100.0%)
    GET http://h/health
expected request mix (every user iterating at the same rate; on_start/on_stop not counted):
    0.0%  POST /login
   33.3%  GET /p/[id]
   16.7%  GET /q
   16.7%  POST /cart
   33.3%  GET /health
"#;
    assert_eq!(plan.describe(), want);
}
