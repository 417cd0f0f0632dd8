//! Journeys that only work when state is carried right: a login whose token the next requests must
//! carry, a cart that needs its cookie. Wrong extraction or templating fails these tests.

use std::sync::Arc;
use std::time::Duration;

use brood_engine::{EngineConfig, StartAt};
use brood_plan::{
    Auth, Body, BodyTemplate, Check, Curve, EntryName, Extract, ExtractFrom, Plan, Profile,
    RequestPlan, RequestTemplate, Segment, StepPlan, TaskPlan, Template, TemplatePart, Url,
    UserTypePlan, Wait,
};
use brood_stats::Snapshot;
use brood_target::{Target, TargetConfig};

fn text(s: &str) -> TemplatePart {
    TemplatePart::Text(s.into())
}

fn var(s: &str) -> TemplatePart {
    TemplatePart::Var(s.into())
}

fn template(parts: Vec<TemplatePart>) -> Template {
    Template { parts }
}

fn request(entry: usize, method: &str, url: &str) -> RequestPlan {
    RequestPlan {
        entry,
        method: method.into(),
        url: Url::parse(url).unwrap(),
        headers: Vec::new(),
        body: None,
        timeout: Duration::from_secs(5),
        follow_redirects: true,
        decompress: true,
        http2: false,
        template: None,
        checks: Vec::new(),
        extract: Vec::new(),
    }
}

/// The template of a request whose URL stays as written.
fn templated(url: &str) -> RequestTemplate {
    RequestTemplate {
        url: template(vec![text(url)]),
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        auth: None,
    }
}

fn step(r: RequestPlan) -> StepPlan {
    StepPlan::Request(Box::new(r))
}

fn entries(names: &[(&str, &str)]) -> Vec<EntryName> {
    names
        .iter()
        .map(|(m, n)| EntryName {
            method: m.to_string(),
            name: n.to_string(),
        })
        .collect()
}

fn run(plan: Plan) -> Snapshot {
    let config = EngineConfig {
        threads: 2,
        node: "journeys".into(),
        added_latency: Duration::ZERO,
    };
    let (engine, rx) =
        brood_engine::start(Arc::new(plan), Segment::WHOLE, &config, StartAt::now()).unwrap();
    let mut total = Snapshot::new(0, 0);
    for delta in rx {
        total.merge(&delta);
    }
    engine.join();
    total
}

fn shopper_plan(base: &str, users: f64) -> Plan {
    let mut login = request(0, "POST", &format!("{base}/shop/api/login"));
    login.template = Some(RequestTemplate {
        body: Some(BodyTemplate::Json(template(vec![
            text(r#"{"username": "shopper-"#),
            TemplatePart::Builtin(brood_plan::Builtin::UserId),
            text(r#"", "password": ""#),
            TemplatePart::Env("BROOD_JOURNEY_PASSWORD".into()),
            text(r#""}"#),
        ]))),
        ..templated("/shop/api/login")
    });
    login.checks = vec![Check::Status(vec![(200, 200)])];
    login.extract = vec![Extract {
        var: "token".into(),
        from: ExtractFrom::Json("/token".into()),
    }];

    let mut product = request(1, "GET", &format!("{base}/shop/api/products/1"));
    product.template = Some(templated("/shop/api/products/{}"));
    if let Some(t) = &mut product.template {
        t.url = template(vec![
            text("/shop/api/products/"),
            TemplatePart::Builtin(brood_plan::Builtin::RandomInt { min: 1, max: 500 }),
        ]);
    }
    product.extract = vec![Extract {
        var: "product".into(),
        from: ExtractFrom::Json("/id".into()),
    }];

    let bearer = Some(Auth::Bearer(template(vec![var("token")])));
    let mut add = request(2, "POST", &format!("{base}/shop/api/cart"));
    add.template = Some(RequestTemplate {
        body: Some(BodyTemplate::Json(template(vec![
            text(r#"{"product_id": "#),
            TemplatePart::JsonValue(Box::new(var("product"))),
            text(r#", "qty": 2}"#),
        ]))),
        auth: bearer.clone(),
        ..templated("/shop/api/cart")
    });
    add.checks = vec![
        Check::Status(vec![(201, 201)]),
        Check::JsonExists("/cart_id".into()),
    ];
    add.extract = vec![Extract {
        var: "cart".into(),
        from: ExtractFrom::Cookie("cart".into()),
    }];

    let mut cart = request(3, "GET", &format!("{base}/shop/api/cart"));
    cart.template = Some(RequestTemplate {
        auth: bearer.clone(),
        ..templated("/shop/api/cart")
    });
    cart.checks = vec![
        Check::Status(vec![(200, 200)]),
        Check::BodyContains("lines".into()),
    ];

    let mut checkout = request(4, "POST", &format!("{base}/shop/api/checkout"));
    checkout.template = Some(RequestTemplate {
        auth: bearer,
        ..templated("/shop/api/checkout")
    });
    checkout.body = Some(Body {
        content_type: Some("application/json".into()),
        bytes: b"{}".to_vec(),
    });

    Plan {
        user_types: vec![UserTypePlan {
            name: "shopper".into(),
            weight: 1,
            fixed_count: None,
            wait: Wait::Constant(Duration::from_millis(5)),
            tasks: vec![TaskPlan {
                name: "checkout".into(),
                weight: 1,
                steps: vec![
                    step(product),
                    step(add),
                    StepPlan::Think(Wait::Constant(Duration::from_millis(1))),
                    step(cart),
                    step(checkout),
                ],
            }],
            on_start: vec![step(login)],
            on_stop: Vec::new(),
            vars: Vec::new(),
            feeds: Vec::new(),
        }],
        entries: entries(&[
            ("POST", "login"),
            ("GET", "product"),
            ("POST", "add"),
            ("GET", "cart"),
            ("POST", "checkout"),
        ]),
        profile: Profile::Users {
            curve: Curve::constant(users, Some(Duration::from_millis(1500))),
        },
        stop_timeout: Duration::from_secs(10),
        thresholds: Vec::new(),
        insecure_tls: false,
        max_body: brood_plan::DEFAULT_MAX_BODY,
    }
}

fn count(s: &Snapshot, name: &str) -> (u64, u64) {
    s.entries
        .iter()
        .find(|(k, _)| k.name == name)
        .map_or((0, 0), |(_, e)| (e.requests, e.failures))
}

#[test]
fn a_login_token_and_a_cart_cookie_carry_a_whole_checkout() {
    std::env::set_var("BROOD_JOURNEY_PASSWORD", "secret");
    let target = Target::start(TargetConfig::default()).unwrap();
    let s = run(shopper_plan(&format!("http://{}", target.addr()), 4.0));
    let shop = target.shop_counts();
    assert_eq!(
        count(&s, "login"),
        (4, 0),
        "one login per user, with the password from env"
    );
    assert_eq!(shop.logins, 4);
    let (adds, add_failures) = count(&s, "add");
    assert!(adds > 10, "{adds}");
    assert_eq!(add_failures, 0, "{:?}", s.failures);
    assert_eq!(shop.cart_adds, adds);
    let (checkouts, failed) = count(&s, "checkout");
    assert_eq!(checkouts, shop.orders + shop.failed_checkouts);
    assert_eq!(
        failed, shop.failed_checkouts,
        "the shop's 503s are the only failures"
    );
    assert!(s.exceptions.is_empty(), "{:?}", s.exceptions);
    let (gets, get_failures) = count(&s, "cart");
    assert_eq!(
        (gets, get_failures),
        (adds, 0),
        "GET /cart needs the bearer token and the cookie"
    );
}

#[test]
fn scenario_errors_are_exceptions_not_crashes() {
    let target = Target::start(TargetConfig::default()).unwrap();
    let mut plan = shopper_plan(&format!("http://{}", target.addr()), 2.0);
    // A wrong password: the login fails its check, the token is never extracted, and every
    // templated request that needs it is an exception instead of a request.
    std::env::set_var("BROOD_JOURNEY_WRONG", "nope");
    let UserTypePlan { on_start, .. } = &mut plan.user_types[0];
    if let StepPlan::Request(login) = &mut on_start[0] {
        if let Some(RequestTemplate {
            body: Some(BodyTemplate::Json(t)),
            ..
        }) = &mut login.template
        {
            t.parts[3] = TemplatePart::Env("BROOD_JOURNEY_WRONG".into());
        }
    }
    let s = run(plan);
    assert_eq!(count(&s, "login"), (2, 2));
    let failure = s.failures.keys().next().unwrap();
    assert_eq!(failure.error, "check failed: status 401 not in [200]");
    assert_eq!(count(&s, "add"), (0, 0), "nothing was sent without a token");
    let (message, exception) = s.exceptions.iter().next().unwrap();
    assert!(message.contains("token"), "{message}");
    assert!(
        exception.traceback.contains("shopper"),
        "{}",
        exception.traceback
    );
    assert!(exception.nodes.contains("journeys"));
    assert!(exception.count >= 2);
}
