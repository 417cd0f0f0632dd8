//! The shop's answers decided without a socket or a clock.

use super::*;

fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).expect("request").into_parts().0
}

fn json_of(answer: &Answer) -> &Value {
    match &answer.content {
        Content::Json(value) => value,
        other => panic!("not JSON: {other:?}"),
    }
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer
        .headers
        .iter()
        .find(|(have, _)| have == name)
        .and_then(|(_, value)| value.to_str().ok())
}

fn login(shop: &Shop) -> String {
    let request = parts("POST", "/shop/api/login", &[]);
    let answer = shop.handle(&request, br#"{"username": "ann", "password": "secret"}"#);
    assert_eq!(answer.status, StatusCode::OK);
    json_of(&answer)["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

#[test]
fn endpoints_are_found_from_paths() {
    assert_eq!(endpoint_of("/shop"), Endpoint::Home);
    assert_eq!(endpoint_of("/shop/"), Endpoint::Home);
    assert_eq!(endpoint_of("/shop/health"), Endpoint::Health);
    assert_eq!(endpoint_of("/shop/api/products"), Endpoint::Products);
    assert_eq!(endpoint_of("/shop/api/products/"), Endpoint::Products);
    assert_eq!(endpoint_of("/shop/api/products/12"), Endpoint::Product);
    assert_eq!(endpoint_of("/shop/api/cart"), Endpoint::Cart);
    assert_eq!(endpoint_of("/shop/api/products/1/2"), Endpoint::Unknown);
    assert_eq!(endpoint_of("/shop/api"), Endpoint::Unknown);
    for (i, endpoint) in Endpoint::ALL.into_iter().enumerate() {
        assert_eq!(endpoint.index(), i);
    }
}

#[test]
fn prefixes_reach_endpoints_segment_by_segment() {
    let reached = |prefix: &str| -> Vec<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .filter(|e| e.reached_by(prefix))
            .collect()
    };
    assert_eq!(reached("/shop"), Endpoint::ALL);
    assert_eq!(reached("/shop/"), Endpoint::ALL);
    assert_eq!(reached("/shop/api").len(), 6);
    assert_eq!(
        reached("/shop/api/products"),
        [Endpoint::Products, Endpoint::Product]
    );
    assert_eq!(reached("/shop/api/products/9"), [Endpoint::Product]);
    assert_eq!(reached("/shop/api/cart?x=1"), [Endpoint::Cart]);
    assert_eq!(reached("/shop/api/car"), []);
    assert_eq!(reached("/shop/api/products/9/x"), []);
}

#[test]
fn a_journey_carries_the_token_and_the_cookie() {
    let shop = Shop::new(1);
    let token = login(&shop);
    let bearer = format!("Bearer {token}");
    let add = parts("POST", "/shop/api/cart", &[("authorization", &bearer)]);
    let added = shop.handle(&add, br#"{"product_id": 7, "qty": 2}"#);
    assert_eq!(added.status, StatusCode::CREATED);
    let cart_id = json_of(&added)["cart_id"].as_str().expect("cart id");
    let set_cookie = header(&added, "set-cookie").expect("a cart cookie");
    assert!(
        set_cookie.starts_with(&format!("cart={cart_id};")),
        "{set_cookie}"
    );
    let again = shop.handle(&add, br#"{"product_id": 9}"#);
    assert_eq!(json_of(&again)["items"], 3);
    assert_eq!(header(&again, "set-cookie"), None);

    let cookie = format!("cart={cart_id}");
    let with_both = [
        ("authorization", bearer.as_str()),
        ("cookie", cookie.as_str()),
    ];
    let view = shop.handle(&parts("GET", "/shop/api/cart", &with_both), b"");
    assert_eq!(view.status, StatusCode::OK);
    let lines = json_of(&view)["lines"].as_array().expect("lines");
    let ids: Vec<u64> = lines.iter().filter_map(|l| l["id"].as_u64()).collect();
    assert_eq!(ids, [7, 9]);

    let checkout = shop.handle(&parts("POST", "/shop/api/checkout", &with_both), b"");
    assert_eq!(checkout.status, StatusCode::OK);
    assert_eq!(json_of(&checkout)["order_id"], 1);
    assert_eq!(json_of(&checkout)["total"], json_of(&view)["total"]);
    let counts = shop.counts();
    assert_eq!(
        counts,
        ShopCounts {
            logins: 1,
            cart_adds: 2,
            carts: 1,
            orders: 1,
            ..ShopCounts::default()
        }
    );
}

#[test]
fn refusals_are_immediate_and_say_why() {
    let shop = Shop::new(1);
    let token = login(&shop);
    let bearer = format!("Bearer {token}");
    let cases = [
        (
            parts("POST", "/shop/api/cart", &[]),
            StatusCode::UNAUTHORIZED,
        ),
        (
            parts("POST", "/shop/api/cart", &[("authorization", "Bearer x")]),
            StatusCode::UNAUTHORIZED,
        ),
        (
            parts("POST", "/shop/api/cart", &[("authorization", &bearer)]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            parts("GET", "/shop/api/cart", &[("authorization", &bearer)]),
            StatusCode::CONFLICT,
        ),
        (
            parts("GET", "/shop/api/search?q=", &[]),
            StatusCode::BAD_REQUEST,
        ),
        (
            parts("GET", "/shop/api/products?page=0", &[]),
            StatusCode::BAD_REQUEST,
        ),
        (
            parts("GET", "/shop/api/products/0", &[]),
            StatusCode::NOT_FOUND,
        ),
        (parts("GET", "/shop/nowhere", &[]), StatusCode::NOT_FOUND),
    ];
    for (request, status) in cases {
        let answer = shop.handle(&request, b"{}");
        assert_eq!(answer.status, status, "{}", request.uri);
        assert_eq!(answer.latency, Duration::ZERO, "{}", request.uri);
        assert!(json_of(&answer)["error"].is_string());
    }
}

#[test]
fn wrong_methods_are_refused_with_the_allowed_ones() {
    let shop = Shop::new(1);
    let answer = shop.handle(&parts("GET", "/shop/api/login", &[]), b"");
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&answer, "allow"), Some("POST"));
    let answer = shop.handle(&parts("DELETE", "/shop/api/cart", &[]), b"");
    assert_eq!(header(&answer, "allow"), Some("GET, HEAD, POST"));
    let answer = shop.handle(&parts("HEAD", "/shop/health", &[]), b"");
    assert_eq!(answer.status, StatusCode::OK);
}

#[test]
fn the_same_seed_gives_the_same_answers_and_reset_starts_over() {
    let requests = [
        parts("GET", "/shop/api/products?page=3", &[]),
        parts("GET", "/shop/api/products/42", &[]),
        parts("GET", "/shop/api/search?q=lamp", &[]),
        parts("POST", "/shop/api/login", &[]),
    ];
    let body = br#"{"username": "bo", "password": "secret"}"#;
    let answers = |shop: &Shop| -> Vec<Answer> {
        requests
            .iter()
            .map(|request| shop.handle(request, body))
            .collect()
    };
    let (one, other) = (Shop::new(5), Shop::new(5));
    let first = answers(&one);
    assert_eq!(first, answers(&other));
    assert_ne!(first, answers(&one), "latencies and tokens move on");
    one.reset();
    assert_eq!(first, answers(&one));
    assert_ne!(first, answers(&Shop::new(6)));
}

#[test]
fn user_ids_follow_the_username() {
    assert_eq!(user_id(1, "ann"), user_id(1, "ann"));
    assert_ne!(user_id(1, "ann"), user_id(1, "bo"));
    assert!((1..=1_000_000).contains(&user_id(1, "")));
}
