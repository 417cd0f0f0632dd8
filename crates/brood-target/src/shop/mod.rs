//! The demo shop under `/shop`: a small JSON API whose journeys carry state from one answer to
//! the next (a login token, a cart cookie), with seeded, deterministic latency and failures.
//!
//! [`Shop::handle`] decides each answer and how long it should take without doing I/O or
//! reading a clock; the server sleeps the latency and writes the answer. The endpoints are
//! listed in the crate documentation.

mod catalog;
mod input;
mod session;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::body::ResponseBody;
use crate::route::DELAY_HEADER;
use catalog::{Pace, Product, PAGES, PAGE_SIZE};
use session::{Refusal, Sessions};

pub use session::ShopCounts;

/// Largest request body the shop reads; larger ones are answered 413.
pub(crate) const MAX_BODY: usize = 64 << 10;

/// The one password every username logs in with.
const PASSWORD: &str = "secret";

/// Search results returned at most.
const SEARCH_LIMIT: usize = 20;

const HOME: &str = include_str!("home.html");

/// An endpoint of the shop, found from the path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Home,
    Health,
    Login,
    Products,
    Product,
    Search,
    Cart,
    Checkout,
    /// Any other path below `/shop`.
    Unknown,
}

impl Endpoint {
    pub(crate) const ALL: [Endpoint; 9] = [
        Endpoint::Home,
        Endpoint::Health,
        Endpoint::Login,
        Endpoint::Products,
        Endpoint::Product,
        Endpoint::Search,
        Endpoint::Cart,
        Endpoint::Checkout,
        Endpoint::Unknown,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The path segments the endpoint answers, `*` standing for a product id. Unknown paths
    /// count under `/shop` alone.
    fn pattern(self) -> &'static [&'static str] {
        match self {
            Endpoint::Home | Endpoint::Unknown => &["shop"],
            Endpoint::Health => &["shop", "health"],
            Endpoint::Login => &["shop", "api", "login"],
            Endpoint::Products => &["shop", "api", "products"],
            Endpoint::Product => &["shop", "api", "products", "*"],
            Endpoint::Search => &["shop", "api", "search"],
            Endpoint::Cart => &["shop", "api", "cart"],
            Endpoint::Checkout => &["shop", "api", "checkout"],
        }
    }

    /// Whether requests to this endpoint have paths starting with `prefix`, segment by segment
    /// (a query, if any, is ignored). Product ids are not told apart, so
    /// `/shop/api/products/7` reaches every product lookup.
    pub(crate) fn reached_by(self, prefix: &str) -> bool {
        let prefix = prefix.split('?').next().unwrap_or("");
        let wanted: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        let pattern = self.pattern();
        wanted.len() <= pattern.len()
            && wanted
                .iter()
                .zip(pattern)
                .all(|(want, have)| *have == "*" || want == have)
    }

    /// The methods the endpoint answers, as an Allow header lists them.
    fn allowed(self) -> &'static str {
        match self {
            Endpoint::Login | Endpoint::Checkout => "POST",
            Endpoint::Cart => "GET, HEAD, POST",
            _ => "GET, HEAD",
        }
    }

    fn allows(self, method: &Method) -> bool {
        self == Endpoint::Unknown
            || self
                .allowed()
                .split(", ")
                .any(|allowed| allowed == method.as_str())
    }
}

/// The endpoint a path below `/shop` names.
pub(crate) fn endpoint_of(path: &str) -> Endpoint {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["shop"] => Endpoint::Home,
        ["shop", "health"] => Endpoint::Health,
        ["shop", "api", "login"] => Endpoint::Login,
        ["shop", "api", "products"] => Endpoint::Products,
        ["shop", "api", "products", _] => Endpoint::Product,
        ["shop", "api", "search"] => Endpoint::Search,
        ["shop", "api", "cart"] => Endpoint::Cart,
        ["shop", "api", "checkout"] => Endpoint::Checkout,
        _ => Endpoint::Unknown,
    }
}

/// A shop's state: its seed, the position of each latency sequence, and the sessions.
#[derive(Debug)]
pub(crate) struct Shop {
    seed: u64,
    paced: [AtomicU64; Pace::ALL.len()],
    sessions: Mutex<Sessions>,
}

/// What the body of an answer is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Content {
    Json(Value),
    Html(&'static str),
    Text(&'static str),
}

/// An answer decided but not yet sent: the server waits `latency`, then writes the rest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content: Content,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) latency: Duration,
}

impl Answer {
    fn new(status: StatusCode, content: Content) -> Self {
        Self {
            status,
            content,
            headers: Vec::new(),
            latency: Duration::ZERO,
        }
    }

    fn json(status: StatusCode, value: Value) -> Self {
        Self::new(status, Content::Json(value))
    }

    /// A refusal, answered at once: the shop checks its input before doing any work.
    fn error(status: StatusCode, message: &str) -> Self {
        Self::json(status, json!({ "error": message }))
    }

    /// The answer to a body over [`MAX_BODY`].
    pub(crate) fn too_large() -> Self {
        Self::error(StatusCode::PAYLOAD_TOO_LARGE, "request body over 64 KiB")
    }

    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The HTTP response, with the waited milliseconds in [`DELAY_HEADER`] when there was a
    /// wait, so tests can tell slow answers from fast ones without timing them.
    pub(crate) fn into_response(self) -> Response<ResponseBody> {
        let (content_type, body) = match self.content {
            Content::Json(value) => ("application/json", ResponseBody::full(value.to_string())),
            Content::Html(html) => ("text/html; charset=utf-8", ResponseBody::full(html)),
            Content::Text(text) => ("text/plain", ResponseBody::full(text)),
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if !self.latency.is_zero() {
            let millis = u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX);
            headers.insert(DELAY_HEADER, HeaderValue::from(millis));
        }
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

impl Shop {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            paced: Default::default(),
            sessions: Mutex::default(),
        }
    }

    pub(crate) fn counts(&self) -> ShopCounts {
        self.sessions().counts()
    }

    /// Forgets every session and cart and restarts the latency and failure sequences, so the
    /// shop answers as if just started.
    pub(crate) fn reset(&self) {
        *self.sessions() = Sessions::default();
        for position in &self.paced {
            position.store(0, Ordering::Relaxed);
        }
    }

    fn sessions(&self) -> MutexGuard<'_, Sessions> {
        // The lock is never held across a panic-prone call, and the sessions stay consistent
        // between statements, so a poisoned lock still guards good data.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `answer` delayed by the next latency of `pace`.
    fn paced(&self, pace: Pace, answer: Answer) -> Answer {
        let n = self.paced[pace.index()].fetch_add(1, Ordering::Relaxed) + 1;
        Answer {
            latency: pace.latency(self.seed, n),
            ..answer
        }
    }

    /// Decides the answer to a request below `/shop` whose body is `body`.
    pub(crate) fn handle(&self, parts: &Parts, body: &[u8]) -> Answer {
        let endpoint = endpoint_of(parts.uri.path());
        if !endpoint.allows(&parts.method) {
            let allow = HeaderValue::from_static(endpoint.allowed());
            return Answer::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
                .with_header(header::ALLOW, allow);
        }
        let query = parts.uri.query().unwrap_or("");
        match endpoint {
            Endpoint::Home => {
                self.paced(Pace::Home, Answer::new(StatusCode::OK, Content::Html(HOME)))
            }
            Endpoint::Health => Answer::new(StatusCode::OK, Content::Text("ok")),
            Endpoint::Login => self.login(parts, body),
            Endpoint::Products => self.products(query),
            Endpoint::Product => self.product(parts.uri.path()),
            Endpoint::Search => self.search(query),
            Endpoint::Cart if parts.method == Method::POST => self.add_to_cart(parts, body),
            Endpoint::Cart => self.view_cart(parts),
            Endpoint::Checkout => self.checkout(parts),
            Endpoint::Unknown => Answer::error(StatusCode::NOT_FOUND, "not found"),
        }
    }

    fn login(&self, parts: &Parts, body: &[u8]) -> Answer {
        let Some(credentials) = input::credentials(&parts.headers, body) else {
            return Answer::error(
                StatusCode::BAD_REQUEST,
                "send a username and a password, as JSON or a form",
            );
        };
        if credentials.password != PASSWORD {
            self.sessions().failed_login();
            return Answer::error(StatusCode::UNAUTHORIZED, "wrong username or password");
        }
        let token = self.sessions().login(self.seed);
        let user_id = user_id(self.seed, &credentials.username);
        let answer = Answer::json(
            StatusCode::OK,
            json!({ "token": token, "user_id": user_id }),
        );
        self.paced(Pace::Login, answer)
    }

    fn products(&self, query: &str) -> Answer {
        let page = match input::form_value(query, "page") {
            None => 1,
            Some(text) => match text.parse::<u64>() {
                Ok(page) if page >= 1 => page,
                _ => return Answer::error(StatusCode::BAD_REQUEST, "page must be 1 or more"),
            },
        };
        let products: Vec<Value> = catalog::page(self.seed, page)
            .iter()
            .map(Product::summary)
            .collect();
        let mut answer = Answer::json(StatusCode::OK, Value::from(products));
        answer = answer.with_header(HeaderName::from_static("x-total-pages"), PAGES.into());
        answer = answer.with_header(HeaderName::from_static("x-page-size"), PAGE_SIZE.into());
        self.paced(Pace::Products, answer)
    }

    fn product(&self, path: &str) -> Answer {
        let id = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
        match id.parse().ok().and_then(|id| Product::get(self.seed, id)) {
            Some(product) => {
                let answer = Answer::json(StatusCode::OK, product.detail());
                self.paced(Pace::Product, answer)
            }
            None => Answer::error(StatusCode::NOT_FOUND, "no such product"),
        }
    }

    fn search(&self, query: &str) -> Answer {
        let q = input::form_value(query, "q").unwrap_or_default();
        let q = q.trim();
        if q.is_empty() {
            return Answer::error(StatusCode::BAD_REQUEST, "q must not be empty");
        }
        let (total, found) = catalog::search(self.seed, q, SEARCH_LIMIT);
        let results: Vec<Value> = found.iter().map(Product::summary).collect();
        let value = json!({ "query": q, "total": total, "results": results });
        self.paced(Pace::Search, Answer::json(StatusCode::OK, value))
    }

    fn add_to_cart(&self, parts: &Parts, body: &[u8]) -> Answer {
        let Some(token) = input::bearer(&parts.headers) else {
            return refused(Refusal::Unauthorized);
        };
        // The token is checked before the body, as an authenticating proxy in front would.
        let added = {
            let mut sessions = self.sessions();
            if !sessions.knows(token) {
                return refused(Refusal::Unauthorized);
            }
            let line = match input::line(body) {
                Ok(line) => line,
                Err(why) => return Answer::error(StatusCode::UNPROCESSABLE_ENTITY, why),
            };
            match sessions.add(self.seed, token, line) {
                Ok(added) => added,
                Err(refusal) => return refused(refusal),
            }
        };
        let value = json!({ "cart_id": added.cart_id, "items": added.items });
        let mut answer = Answer::json(StatusCode::CREATED, value);
        if added.new_cart {
            let cookie = format!("cart={}; Path=/shop; HttpOnly; SameSite=Lax", added.cart_id);
            if let Ok(cookie) = HeaderValue::from_str(&cookie) {
                answer = answer.with_header(header::SET_COOKIE, cookie);
            }
        }
        self.paced(Pace::CartAdd, answer)
    }

    fn view_cart(&self, parts: &Parts) -> Answer {
        let Some(token) = input::bearer(&parts.headers) else {
            return refused(Refusal::Unauthorized);
        };
        let cookie = input::cookie(&parts.headers, "cart");
        let value = match self.sessions().cart(token, cookie) {
            Ok(cart) => self.cart_json(cart),
            Err(refusal) => return refused(refusal),
        };
        self.paced(Pace::CartView, Answer::json(StatusCode::OK, value))
    }

    fn cart_json(&self, cart: &session::Cart) -> Value {
        let lines: Vec<Value> = cart
            .lines
            .iter()
            .filter_map(|(&id, &qty)| Product::get(self.seed, id).map(|p| (p, qty)))
            .map(|(product, qty)| {
                let mut line = product.summary();
                line["qty"] = qty.into();
                line
            })
            .collect();
        json!({
            "cart_id": cart.id,
            "items": cart.items(),
            "lines": lines,
            "total": catalog::price(cart.total_cents(self.seed)),
        })
    }

    fn checkout(&self, parts: &Parts) -> Answer {
        let Some(token) = input::bearer(&parts.headers) else {
            return refused(Refusal::Unauthorized);
        };
        let cookie = input::cookie(&parts.headers, "cart");
        let placed = self.sessions().checkout(self.seed, token, cookie);
        let answer = match placed {
            Ok(order) => Answer::json(
                StatusCode::OK,
                json!({
                    "order_id": order.id,
                    "items": order.items,
                    "total": catalog::price(order.total_cents),
                }),
            ),
            // The failure takes the time a payment call would before it gives up.
            Err(Refusal::Unavailable) => refused(Refusal::Unavailable),
            Err(refusal) => return refused(refusal),
        };
        self.paced(Pace::Checkout, answer)
    }
}

/// The user id of `username`: the same name always gets the same id under one seed.
fn user_id(seed: u64, username: &str) -> u64 {
    // FNV-1a: a stable hash, unlike the standard library's, which may change between releases.
    let hash = username
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    1 + catalog::draw(seed, catalog::stream::USER, hash) % 1_000_000
}

fn refused(refusal: Refusal) -> Answer {
    match refusal {
        Refusal::Unauthorized => Answer::error(
            StatusCode::UNAUTHORIZED,
            "log in and send the token as a bearer token",
        )
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
        Refusal::WrongCart => Answer::error(
            StatusCode::CONFLICT,
            "the cart cookie is missing or names another cart",
        ),
        Refusal::EmptyCart => Answer::error(StatusCode::CONFLICT, "the cart is empty"),
        Refusal::Unavailable => Answer::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "payment service unavailable",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1")),
    }
}

#[cfg(test)]
mod tests;
