//! Request and connection counters, read by tests while the target runs.
//!
//! Known routes count in a fixed array of atomics so the hot path takes no lock; only paths that
//! name no route (rare, and usually a test's deliberate 404) go through a map. Requests to the
//! shop also count per shop endpoint, in a second fixed array.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::route::{prefix_of, route_of, Route};
use crate::shop::{endpoint_of, Endpoint};

#[derive(Debug, Default)]
pub(crate) struct Counts {
    total: AtomicU64,
    routes: [AtomicU64; Route::ALL.len()],
    shop: [AtomicU64; Endpoint::ALL.len()],
    unrouted: Mutex<HashMap<String, u64>>,
    connections: AtomicU64,
    open: AtomicU64,
}

impl Counts {
    /// Counts one request whose head has just been read.
    pub(crate) fn request(&self, path: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        match route_of(path) {
            Some(route) => {
                self.routes[route.index()].fetch_add(1, Ordering::Relaxed);
                if route == Route::Shop {
                    self.shop[endpoint_of(path).index()].fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                let mut unrouted = self.unrouted.lock().unwrap_or_else(PoisonError::into_inner);
                *unrouted.entry(prefix_of(path).to_owned()).or_default() += 1;
            }
        }
    }

    pub(crate) fn requests(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Requests whose path shares the first segment of `route` (which may be a whole path).
    pub(crate) fn requests_to(&self, route: &str) -> u64 {
        match route_of(route) {
            Some(route) => self.routes[route.index()].load(Ordering::Relaxed),
            None => {
                let unrouted = self.unrouted.lock().unwrap_or_else(PoisonError::into_inner);
                unrouted.get(prefix_of(route)).copied().unwrap_or(0)
            }
        }
    }

    /// Requests whose path starts with `prefix` segment by segment. Below `/shop` the shop's
    /// endpoints are told apart (but not the ids of `/shop/api/products/{id}`); elsewhere routes
    /// count by first segment only, so this is [`Counts::requests_to`].
    pub(crate) fn requests_to_path(&self, prefix: &str) -> u64 {
        if route_of(prefix) != Some(Route::Shop) {
            return self.requests_to(prefix);
        }
        Endpoint::ALL
            .into_iter()
            .filter(|endpoint| endpoint.reached_by(prefix))
            .map(|endpoint| self.shop[endpoint.index()].load(Ordering::Relaxed))
            .sum()
    }

    pub(crate) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    pub(crate) fn open_connections(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Zeroes every count except open connections, which describe the present rather than the
    /// past and would go negative if cleared while connections are still up.
    pub(crate) fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        for count in self.routes.iter().chain(&self.shop) {
            count.store(0, Ordering::Relaxed);
        }
        self.unrouted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.connections.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_count_by_first_segment() {
        let counts = Counts::default();
        for path in [
            "/",
            "/delay/1",
            "/delay/2",
            "/nope/1",
            "/nope",
            "/cookies/set",
        ] {
            counts.request(path);
        }
        assert_eq!(counts.requests(), 6);
        assert_eq!(counts.requests_to("/"), 1);
        assert_eq!(counts.requests_to("/delay"), 2);
        assert_eq!(counts.requests_to("/delay/99"), 2);
        assert_eq!(counts.requests_to("/nope"), 2);
        assert_eq!(counts.requests_to("/cookies"), 1);
        assert_eq!(counts.requests_to("/echo"), 0);
        assert_eq!(counts.requests_to("/other"), 0);
        counts.reset();
        assert_eq!(counts.requests(), 0);
        assert_eq!(counts.requests_to("/delay"), 0);
        assert_eq!(counts.requests_to("/nope"), 0);
    }

    #[test]
    fn shop_requests_count_by_endpoint() {
        let counts = Counts::default();
        for path in [
            "/shop/",
            "/shop/api/cart",
            "/shop/api/cart",
            "/shop/api/products",
            "/shop/api/products/4",
            "/shop/api/nowhere",
            "/delay/3",
        ] {
            counts.request(path);
        }
        assert_eq!(counts.requests_to("/shop"), 6);
        assert_eq!(counts.requests_to("/shop/api/cart"), 6);
        assert_eq!(counts.requests_to_path("/shop"), 6);
        assert_eq!(counts.requests_to_path("/shop/api"), 4);
        assert_eq!(counts.requests_to_path("/shop/api/cart"), 2);
        assert_eq!(counts.requests_to_path("/shop/api/products"), 2);
        assert_eq!(counts.requests_to_path("/shop/api/products/77"), 1);
        assert_eq!(counts.requests_to_path("/shop/health"), 0);
        assert_eq!(counts.requests_to_path("/delay/9"), 1);
        counts.reset();
        assert_eq!(counts.requests_to_path("/shop/api/cart"), 0);
    }

    #[test]
    fn reset_keeps_open_connections() {
        let counts = Counts::default();
        counts.connection_opened();
        counts.connection_opened();
        counts.connection_closed();
        counts.reset();
        assert_eq!(counts.connections(), 0);
        assert_eq!(counts.open_connections(), 1);
        counts.connection_closed();
        assert_eq!(counts.open_connections(), 0);
    }
}
