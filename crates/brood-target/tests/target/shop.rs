//! The demo shop end to end: each endpoint, the whole journey over HTTP/1.1 and HTTP/2, the
//! failure paths a client that carries the wrong values runs into, and the counts tests use.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use brood_target::{serve_forever, ShopCounts, Target, TargetConfig};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use serde_json::Value;

use crate::client::{until, Client, Proto, Reply};

fn start() -> Target {
    Target::start(TargetConfig::default()).expect("target starts")
}

async fn h1(target: &Target) -> Client {
    Client::connect(target, Proto::Http1).await
}

fn json(reply: &Reply) -> Value {
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{}",
        reply.text()
    );
    serde_json::from_slice(&reply.body).expect("a JSON body")
}

/// Checks that a paced answer reports a wait in `low..=high` ms and really took that long.
fn assert_paced(reply: &Reply, low: u64, high: u64) {
    let delay = reply.delay_ms();
    assert!((low..=high).contains(&delay), "{delay} ms");
    assert!(reply.elapsed >= Duration::from_millis(delay), "{reply:?}");
}

const LOGIN: &str = r#"{"username": "ann", "password": "secret"}"#;

async fn login(client: &mut Client) -> String {
    let request = client.request(
        "POST",
        "/shop/api/login",
        &[("content-type", "application/json")],
        LOGIN,
    );
    let reply = client.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    json(&reply)["token"].as_str().expect("a token").to_owned()
}

/// Adds a product to the token's cart and returns the reply.
async fn add(client: &mut Client, bearer: &str, body: &str) -> Reply {
    let headers = [
        ("authorization", bearer),
        ("content-type", "application/json"),
    ];
    let request = client.request("POST", "/shop/api/cart", &headers, body);
    client.send(request).await
}

/// The `name=value` part of a Set-Cookie header, as a client sends it back.
fn cookie_pair(reply: &Reply) -> String {
    let set_cookie = reply.header("set-cookie").expect("a cart cookie");
    let pair = set_cookie.split(';').next().expect("a pair");
    assert!(set_cookie.contains("Path=/shop"), "{set_cookie}");
    pair.to_owned()
}

#[tokio::test]
async fn home_and_health_answer_beside_the_other_routes() {
    let target = start();
    let mut client = h1(&target).await;
    let home = client.fetch("/shop/").await;
    assert_eq!(home.status, 200);
    assert_eq!(
        home.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(home.text().contains(r#"href="/shop/api/products?page=1""#));
    assert_paced(&home, 2, 6);
    assert_eq!(client.fetch("/shop").await.status, 200);
    let health = client.fetch("/shop/health").await;
    assert_eq!((health.status, health.text()), (StatusCode::OK, "ok"));
    assert_eq!(client.fetch("/").await.text(), "Hello, world!");
    assert_eq!(client.fetch("/shop/nowhere").await.status, 404);
    assert_eq!(client.fetch("/shopping").await.status, 404);
    assert_eq!(target.requests_to("/shop"), 4);
    assert_eq!(target.requests_to_path("/shop/health"), 1);
    assert_eq!(target.requests_to("/"), 1);
    assert_eq!(target.requests_to_path("/"), 1);
}

#[tokio::test]
async fn login_takes_json_or_a_form_and_refuses_a_wrong_password() {
    let target = start();
    let mut client = h1(&target).await;
    let request = client.request("POST", "/shop/api/login", &[], LOGIN);
    let by_json = client.send(request).await;
    assert_paced(&by_json, 10, 20);
    let by_json = json(&by_json);
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let request = client.request(
        "POST",
        "/shop/api/login",
        &form,
        "username=ann&password=secret",
    );
    let by_form = json(&client.send(request).await);
    assert_ne!(by_json["token"], by_form["token"]);
    assert_eq!(by_json["user_id"], by_form["user_id"]);
    assert!(by_json["user_id"].as_u64().is_some());

    let wrong = r#"{"username": "ann", "password": "hunter2"}"#;
    let request = client.request("POST", "/shop/api/login", &[], wrong);
    assert_eq!(client.send(request).await.status, 401);
    let request = client.request("POST", "/shop/api/login", &[], "{}");
    assert_eq!(client.send(request).await.status, 400);
    let reply = client.fetch("/shop/api/login").await;
    assert_eq!(
        (reply.status, reply.header("allow")),
        (StatusCode::METHOD_NOT_ALLOWED, Some("POST"))
    );
    assert_eq!(target.successful_logins(), 2);
    assert_eq!(target.shop_counts().failed_logins, 1);
    assert_eq!(target.requests_to_path("/shop/api/login"), 5);
}

#[tokio::test]
async fn products_come_in_pages_and_one_by_one() {
    let target = start();
    let mut client = h1(&target).await;
    let first = client.fetch("/shop/api/products?page=1").await;
    assert_paced(&first, 15, 40);
    assert_eq!(first.header("x-total-pages"), Some("25"));
    let first = json(&first);
    let ids: Vec<u64> = first
        .as_array()
        .expect("an array")
        .iter()
        .map(|p| p["id"].as_u64().expect("an id"))
        .collect();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    assert_eq!(json(&client.fetch("/shop/api/products").await), first);
    let second = json(&client.fetch("/shop/api/products?page=2").await);
    assert_eq!(second[0]["id"], 21);
    let past_the_end = json(&client.fetch("/shop/api/products?page=26").await);
    assert_eq!(past_the_end, Value::Array(Vec::new()));
    assert_eq!(client.fetch("/shop/api/products?page=0").await.status, 400);
    assert_eq!(client.fetch("/shop/api/products?page=x").await.status, 400);

    let seventh = client.fetch("/shop/api/products/7").await;
    assert_paced(&seventh, 10, 30);
    let seventh = json(&seventh);
    assert_eq!(seventh["name"], first[6]["name"]);
    assert_eq!(seventh["price"], first[6]["price"]);
    assert!(seventh["description"].is_string());
    assert_eq!(client.fetch("/shop/api/products/500").await.status, 200);
    for missing in [
        "/shop/api/products/501",
        "/shop/api/products/0",
        "/shop/api/products/x",
    ] {
        assert_eq!(client.fetch(missing).await.status, 404, "{missing}");
    }
    assert_eq!(target.requests_to_path("/shop/api/products"), 11);
    assert_eq!(target.requests_to_path("/shop/api/products/7"), 5);
}

#[tokio::test]
async fn every_tenth_search_is_slow_and_a_query_is_needed() {
    let target = start();
    let mut client = h1(&target).await;
    let mut slow = Vec::new();
    for n in 1..=10 {
        let reply = client.fetch("/shop/api/search?q=LAMP").await;
        let delay = reply.delay_ms();
        let (low, high) = if n == 10 { (150, 250) } else { (5, 15) };
        assert_paced(&reply, low, high);
        if delay >= 150 {
            slow.push(n);
        }
        let found = json(&reply);
        assert_eq!(found["query"], "LAMP");
        let results = found["results"].as_array().expect("results");
        assert!(!results.is_empty());
        assert!(results
            .iter()
            .all(|p| p["name"].as_str().is_some_and(|n| n.ends_with("Lamp"))));
    }
    assert_eq!(slow, [10]);
    let spaced = json(&client.fetch("/shop/api/search?q=sturdy+lamp").await);
    assert_eq!(spaced["query"], "sturdy lamp");
    for bad in [
        "/shop/api/search",
        "/shop/api/search?q=",
        "/shop/api/search?q=+",
    ] {
        assert_eq!(client.fetch(bad).await.status, 400, "{bad}");
    }
}

/// Login, two additions, the cart, the checkout and the emptied cart, carrying the token and
/// the cookie by hand as a load tester's scenario would.
async fn journey(target: &Target, proto: Proto) {
    let mut client = Client::connect(target, proto).await;
    let token = login(&mut client).await;
    let bearer = format!("Bearer {token}");
    let first = add(&mut client, &bearer, r#"{"product_id": 3, "qty": 2}"#).await;
    assert_eq!(first.status, 201, "{}", first.text());
    assert_paced(&first, 5, 15);
    let cookie = cookie_pair(&first);
    let first = json(&first);
    assert_eq!(
        cookie,
        format!("cart={}", first["cart_id"].as_str().expect("cart id"))
    );
    assert_eq!(first["items"], 2);
    let second = add(&mut client, &bearer, r#"{"product_id": 250}"#).await;
    assert_eq!(second.header("set-cookie"), None);
    assert_eq!(json(&second)["items"], 3);
    assert_eq!(target.carts_with_items(), 1);

    let both = [
        ("authorization", bearer.as_str()),
        ("cookie", cookie.as_str()),
    ];
    let request = client.get("/shop/api/cart", &both);
    let cart = client.send(request).await;
    assert_paced(&cart, 3, 8);
    let cart = json(&cart);
    assert_eq!(
        (cart["cart_id"].clone(), cart["items"].clone()),
        (first["cart_id"].clone(), 3.into())
    );
    let lines: Vec<(u64, u64)> = cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["id"].as_u64().expect("id"),
                l["qty"].as_u64().expect("qty"),
            )
        })
        .collect();
    assert_eq!(lines, [(3, 2), (250, 1)]);

    let request = client.request("POST", "/shop/api/checkout", &both, "");
    let order = client.send(request).await;
    assert_eq!(order.status, 200, "{}", order.text());
    assert_paced(&order, 20, 45);
    let order = json(&order);
    assert!(order["order_id"].as_u64().is_some());
    assert_eq!(
        (order["items"].clone(), order["total"].clone()),
        (3.into(), cart["total"].clone())
    );
    let request = client.get("/shop/api/cart", &both);
    assert_eq!(json(&client.send(request).await)["items"], 0);
    let request = client.request("POST", "/shop/api/checkout", &both, "");
    assert_eq!(client.send(request).await.status, 409, "the cart is empty");
}

#[tokio::test]
async fn the_whole_journey_carries_the_token_and_the_cookie() {
    for proto in [Proto::Http1, Proto::Http2] {
        let target = start();
        journey(&target, proto).await;
        let expected = ShopCounts {
            logins: 1,
            cart_adds: 2,
            carts: 1,
            carts_with_items: 0,
            orders: 1,
            ..ShopCounts::default()
        };
        assert_eq!(target.shop_counts(), expected, "{proto:?}");
        assert_eq!(target.requests_to_path("/shop/api/cart"), 4);
        assert_eq!(target.requests_to_path("/shop/api/checkout"), 2);
        assert_eq!(target.requests_to_path("/shop/api"), 7);
        assert_eq!(target.requests_to("/shop"), 7);
        target.reset_counts();
        assert_eq!(target.shop_counts(), ShopCounts::default());
        assert_eq!(target.requests_to_path("/shop/api/cart"), 0);
    }
}

#[tokio::test]
async fn carrying_the_wrong_values_fails_the_journey() {
    let target = start();
    let mut client = h1(&target).await;
    let token = login(&mut client).await;
    let bearer = format!("Bearer {token}");
    let line = r#"{"product_id": 3}"#;
    let no_token = client.request("POST", "/shop/api/cart", &[], line);
    let no_token = client.send(no_token).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.header("www-authenticate"), Some("Bearer"));
    assert_eq!(add(&mut client, "Bearer 0123", line).await.status, 401);
    assert_eq!(
        add(&mut client, &token, line).await.status,
        401,
        "no scheme"
    );
    for bad in [
        "product_id=3",
        r#"{"product_id": "3"}"#,
        r#"{"product_id": 501}"#,
        r#"{"product_id": 3, "qty": 0}"#,
        r#"{"qty": 1}"#,
    ] {
        let reply = add(&mut client, &bearer, bad).await;
        assert_eq!(reply.status, 422, "{bad}");
        assert!(json(&reply)["error"].is_string());
    }
    let added = add(&mut client, &bearer, line).await;
    let cookie = cookie_pair(&added);

    let only_token = [("authorization", bearer.as_str())];
    let wrong_cookie = [("authorization", bearer.as_str()), ("cookie", "cart=c0")];
    let only_cookie = [("cookie", cookie.as_str())];
    for (headers, status) in [
        (&only_token[..], 409),
        (&wrong_cookie[..], 409),
        (&only_cookie[..], 401),
    ] {
        let request = client.get("/shop/api/cart", headers);
        assert_eq!(
            client.send(request).await.status,
            status,
            "cart {headers:?}"
        );
        let request = client.request("POST", "/shop/api/checkout", headers, "");
        assert_eq!(
            client.send(request).await.status,
            status,
            "checkout {headers:?}"
        );
    }
    let huge = "x".repeat(70 << 10);
    let request = client.request("POST", "/shop/api/login", &[], &huge);
    assert_eq!(client.send(request).await.status, 413);
    let counts = target.shop_counts();
    assert_eq!(
        (counts.cart_adds, counts.carts_with_items, counts.orders),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn carts_belong_to_their_token() {
    let target = start();
    let mut client = h1(&target).await;
    let (ann, bo) = (login(&mut client).await, login(&mut client).await);
    let (ann, bo) = (format!("Bearer {ann}"), format!("Bearer {bo}"));
    let anns = add(&mut client, &ann, r#"{"product_id": 1}"#).await;
    let anns_cookie = cookie_pair(&anns);
    let bos = add(&mut client, &bo, r#"{"product_id": 2}"#).await;
    assert_ne!(cookie_pair(&bos), anns_cookie);
    let request = client.get(
        "/shop/api/cart",
        &[("authorization", &bo), ("cookie", &anns_cookie)],
    );
    assert_eq!(client.send(request).await.status, 409);
    assert_eq!(target.carts_with_items(), 2);
    assert_eq!(target.shop_counts().carts, 2);
}

/// Sends one request on a shared HTTP/2 connection and reads its status and JSON body.
async fn exchange(
    mut sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> (StatusCode, Value, Option<String>) {
    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&body).expect("JSON"), cookie)
}

#[tokio::test]
async fn one_checkout_in_fifty_fails_with_503() {
    let target = start();
    let client = Client::connect(&target, Proto::Http2).await;
    let mut shoppers = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let login = client.request("POST", "/shop/api/login", &[], LOGIN);
        let mut add = client.request("POST", "/shop/api/cart", &[], r#"{"product_id": 9}"#);
        let mut checkout = client.request("POST", "/shop/api/checkout", &[], "");
        let sender = client.h2_sender();
        shoppers.spawn(async move {
            let (_, session, _) = exchange(sender.clone(), login).await;
            let bearer = format!("Bearer {}", session["token"].as_str().expect("token"));
            add.headers_mut()
                .insert("authorization", bearer.parse().expect("header"));
            let (_, _, cookie) = exchange(sender.clone(), add).await;
            let headers = checkout.headers_mut();
            headers.insert("authorization", bearer.parse().expect("header"));
            headers.insert("cookie", cookie.expect("cookie").parse().expect("header"));
            exchange(sender, checkout).await.0
        });
    }
    let statuses = shoppers.join_all().await;
    let failed = statuses.iter().filter(|&&s| s == 503).count();
    let placed = statuses.iter().filter(|&&s| s == 200).count();
    assert_eq!((placed, failed), (49, 1), "{statuses:?}");
    let counts = target.shop_counts();
    assert_eq!((counts.orders, counts.failed_checkouts), (49, 1));
    assert_eq!(
        counts.carts_with_items, 1,
        "a failed checkout keeps the cart"
    );
}

/// A port that was free a moment ago.
fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

#[test]
fn serve_forever_fails_on_a_taken_address() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let config = TargetConfig {
        bind: taken.local_addr().expect("address"),
        ..TargetConfig::default()
    };
    let error = serve_forever(config).expect_err("the address is taken");
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test]
async fn serve_forever_serves_the_shop_until_the_process_ends() {
    let bind = free_addr();
    let config = TargetConfig {
        bind,
        ..TargetConfig::default()
    };
    // The thread never ends; it goes with the test process.
    std::thread::spawn(move || serve_forever(config));
    assert!(until(|| std::net::TcpStream::connect(bind).is_ok()).await);
    let stream = tokio::net::TcpStream::connect(bind).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    let request = Request::get("/shop/health")
        .header("host", bind.to_string())
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], b"ok");
}
