//! HTTP targets with known, deterministic behaviour, for brood's tests, benchmarks and demos.
//!
//! [`Target`] serves a fixed set of routes (fixed delays, bimodal latency, periodic stalls, slow
//! and compressed bodies, redirects, dropped connections, …) over HTTP/1.1 and HTTP/2, with or
//! without TLS, and counts what it receives so tests can check exact numbers. [`RawTarget`]
//! answers every request with scripted bytes, for a client's handling of broken responses.
//!
//! Both run on a thread and tokio runtime of their own, so they serve sync tests and tests whose
//! code builds its own runtimes alike, and stopping them never needs the caller's runtime.

mod background;
mod body;
mod counts;
mod encoding;
mod raw;
mod respond;
mod route;
mod server;
mod tls;

pub use body::text;
pub use raw::{RawMode, RawTarget};
pub use respond::DELAY_HEADER;
pub use server::{Target, TargetConfig};
