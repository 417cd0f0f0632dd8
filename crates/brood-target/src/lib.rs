//! HTTP targets with known, deterministic behaviour, for brood's tests, benchmarks and demos.
//!
//! [`Target`] serves a fixed set of routes (fixed delays, bimodal latency, periodic stalls, slow
//! and compressed bodies, redirects, dropped connections, …) over HTTP/1.1 and HTTP/2, with or
//! without TLS, and counts what it receives so tests can check exact numbers. [`RawTarget`]
//! answers every request with scripted bytes, for a client's handling of broken responses.
//!
//! Both run on a thread and tokio runtime of their own, so they serve sync tests and tests whose
//! code builds its own runtimes alike, and stopping them never needs the caller's runtime.
//!
//! # The demo shop
//!
//! Below `/shop`, every [`Target`] also serves a small shop API, the target of `brood
//! demo-target` and of scenario tests. Its journeys only work when a client carries values from
//! one answer into the next request, so a load tester that extracts or templates the wrong value
//! sees it fail. Behaviour is deterministic under [`TargetConfig::shop_seed`]: the catalogue,
//! tokens, cart ids and latencies follow from the seed and the order of requests, never from a
//! clock. JSON errors read `{"error": "..."}`; refusals (4xx) are answered at once, other
//! answers after the latency shown, which the [`DELAY_HEADER`] header reports.
//!
//! - `GET /shop/` (or `/shop`): an HTML home page linking the API (2–6 ms).
//! - `GET /shop/health`: 200 `ok` as text, at once.
//! - `POST /shop/api/login` with `{"username": "...", "password": "..."}` as JSON, or the same
//!   fields form-encoded: 200 `{"token": "<32 hex digits>", "user_id": N}` when the password is
//!   `secret` (any username; the same username always gets the same `user_id`), 401 for another
//!   password, 400 without a non-empty username and password (10–20 ms). Each login hands out a
//!   new token; the newest 100,000 are remembered.
//! - `GET /shop/api/products?page=N`: a JSON array of up to 20 `{"id", "name", "price"}`
//!   (`page` from 1, default 1; ids 1 to 500 over 25 pages, later pages empty; 400 for a page
//!   that is not a number from 1), with `x-total-pages` and `x-page-size` headers (15–40 ms).
//! - `GET /shop/api/products/{id}`: `{"id", "name", "price", "description"}` for ids 1 to 500,
//!   404 otherwise (10–30 ms).
//! - `GET /shop/api/search?q=...`: `{"query", "total", "results"}` with up to 20 products whose
//!   name contains `q` (ignoring case); 400 when `q` is missing or blank. Every 10th search
//!   takes 150–250 ms, the others 5–15 ms.
//! - `POST /shop/api/cart` with `Authorization: Bearer <token>` and
//!   `{"product_id": N, "qty": M}` (JSON integers; `qty` from 1 to 99, default 1): 201
//!   `{"cart_id": "...", "items": count}`, where `items` counts every unit in the cart. The
//!   token's first addition creates its cart and sets the cookie `cart=<cart_id>; Path=/shop`.
//!   401 without a known token, 422 for a bad body or an unknown product (5–15 ms).
//! - `GET /shop/api/cart` with the bearer token and the `cart` cookie: 200 `{"cart_id",
//!   "items", "lines": [{"id", "name", "price", "qty"}], "total"}`; 401 without a known token,
//!   409 when the cookie is missing or names another cart (3–8 ms).
//! - `POST /shop/api/checkout` with the bearer token and the `cart` cookie: 200 `{"order_id": N,
//!   "items", "total"}` and the cart is emptied; 401 and 409 as for the cart, 409 for an empty
//!   cart. Every 50th checkout that gets this far fails with 503 and `Retry-After: 1` instead,
//!   leaving the cart as it was (20–45 ms either way).
//!
//! Other methods get 405 with an Allow header, other paths below `/shop` 404.
//! [`Target::requests_to_path`] counts requests per endpoint and [`Target::shop_counts`] what
//! the shop did, for tests to compare with what a client saw.

mod background;
mod body;
mod counts;
mod encoding;
mod raw;
mod respond;
mod route;
mod server;
mod shop;
mod tls;

pub use body::text;
pub use raw::{RawMode, RawTarget};
pub use route::DELAY_HEADER;
pub use server::{serve_forever, Target, TargetConfig};
pub use shop::ShopCounts;
