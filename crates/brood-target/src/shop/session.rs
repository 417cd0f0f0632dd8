//! Sessions and carts: which tokens were handed out to whom, what each token's cart holds, and
//! the tallies tests compare with what a client saw.
//!
//! Everything here changes under one lock in [`Shop`](super::Shop), so the tallies always agree
//! with the sessions and carts they describe.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::catalog::{draw, stream, Product};
use super::input::Line;

/// Sessions kept at most. A long demo run logs in without end, so the oldest sessions (and
/// their carts) are forgotten beyond this, as an expiring session store would.
pub(crate) const MAX_SESSIONS: usize = 100_000;

/// Every `FAILED_CHECKOUT_EVERY`-th checkout that could succeed fails with 503 instead.
pub(crate) const FAILED_CHECKOUT_EVERY: u64 = 50;

/// What the demo shop has done since the target started or its counts were last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShopCounts {
    /// Logins answered 200, each with a new token.
    pub logins: u64,
    /// Logins refused with 401 for a wrong password.
    pub failed_logins: u64,
    /// Cart additions answered 201.
    pub cart_adds: u64,
    /// Carts created, one per token on its first addition (each set a `cart` cookie).
    pub carts: u64,
    /// Carts holding at least one item now: added to and not yet checked out.
    pub carts_with_items: u64,
    /// Checkouts answered 200, each placing an order.
    pub orders: u64,
    /// Checkouts answered 503 (every 50th one that would otherwise have succeeded).
    pub failed_checkouts: u64,
}

/// Why a cart or checkout request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No token, or one the shop never handed out (or has forgotten).
    Unauthorized,
    /// No `cart` cookie, or one naming another cart than the token's.
    WrongCart,
    /// Checkout of a cart with nothing in it.
    EmptyCart,
    /// The deterministic checkout failure.
    Unavailable,
}

/// A cart: its id (the `cart` cookie's value) and quantities by product id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cart {
    pub(crate) id: String,
    pub(crate) lines: BTreeMap<u64, u64>,
}

impl Cart {
    /// Items in the cart, counting each unit of every line.
    pub(crate) fn items(&self) -> u64 {
        self.lines.values().sum()
    }

    /// The cart's total price in cents.
    pub(crate) fn total_cents(&self, seed: u64) -> u64 {
        self.lines
            .iter()
            .filter_map(|(&id, &qty)| Product::get(seed, id).map(|p| p.price_cents * qty))
            .sum()
    }
}

#[derive(Debug)]
struct Session {
    cart: Option<Cart>,
}

/// The result of a successful addition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Added {
    pub(crate) cart_id: String,
    pub(crate) items: u64,
    /// The addition created the cart, so its cookie must be set.
    pub(crate) new_cart: bool,
}

/// A placed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) items: u64,
    pub(crate) total_cents: u64,
}

/// All sessions of one shop.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_token: HashMap<String, Session>,
    /// Tokens in the order they were handed out, for forgetting the oldest.
    handed_out: VecDeque<String>,
    /// Checkouts that reached payment, successful or not: picks the failing ones.
    payments: u64,
    counts: ShopCounts,
}

impl Sessions {
    pub(crate) fn counts(&self) -> ShopCounts {
        self.counts
    }

    /// Starts a session and returns its new token.
    pub(crate) fn login(&mut self, seed: u64) -> String {
        self.counts.logins += 1;
        let n = self.counts.logins;
        // Two draws of one stream at distinct positions: distinct n give distinct tokens.
        let token = format!(
            "{:016x}{:016x}",
            draw(seed, stream::TOKEN, 2 * n),
            draw(seed, stream::TOKEN, 2 * n + 1)
        );
        if self.handed_out.len() >= MAX_SESSIONS {
            self.forget_oldest();
        }
        self.by_token.insert(token.clone(), Session { cart: None });
        self.handed_out.push_back(token.clone());
        token
    }

    /// Whether `token` names a live session.
    pub(crate) fn knows(&self, token: &str) -> bool {
        self.by_token.contains_key(token)
    }

    pub(crate) fn failed_login(&mut self) {
        self.counts.failed_logins += 1;
    }

    fn forget_oldest(&mut self) {
        let Some(token) = self.handed_out.pop_front() else {
            return;
        };
        let forgotten = self.by_token.remove(&token);
        if forgotten
            .and_then(|s| s.cart)
            .is_some_and(|c| !c.lines.is_empty())
        {
            self.counts.carts_with_items -= 1;
        }
    }

    /// Adds `line` to the cart of `token`, creating the cart on the token's first addition.
    pub(crate) fn add(&mut self, seed: u64, token: &str, line: Line) -> Result<Added, Refusal> {
        let session = self.by_token.get_mut(token).ok_or(Refusal::Unauthorized)?;
        let new_cart = session.cart.is_none();
        let cart = session.cart.get_or_insert_with(|| {
            self.counts.carts += 1;
            Cart {
                id: format!("c{:016x}", draw(seed, stream::CART, self.counts.carts)),
                lines: BTreeMap::new(),
            }
        });
        if cart.lines.is_empty() {
            self.counts.carts_with_items += 1;
        }
        *cart.lines.entry(line.product_id).or_default() += line.qty;
        self.counts.cart_adds += 1;
        Ok(Added {
            cart_id: cart.id.clone(),
            items: cart.items(),
            new_cart,
        })
    }

    /// The cart of `token`, if `cookie` names it.
    pub(crate) fn cart(&self, token: &str, cookie: Option<&str>) -> Result<&Cart, Refusal> {
        let session = self.by_token.get(token).ok_or(Refusal::Unauthorized)?;
        match (&session.cart, cookie) {
            (Some(cart), Some(cookie)) if cart.id == cookie => Ok(cart),
            _ => Err(Refusal::WrongCart),
        }
    }

    /// Orders what the cart of `token` holds and empties it; or, for every
    /// [`FAILED_CHECKOUT_EVERY`]-th checkout that gets this far, fails and leaves it as it was.
    pub(crate) fn checkout(
        &mut self,
        seed: u64,
        token: &str,
        cookie: Option<&str>,
    ) -> Result<Order, Refusal> {
        let cart = self.cart(token, cookie)?;
        if cart.lines.is_empty() {
            return Err(Refusal::EmptyCart);
        }
        let (items, total_cents) = (cart.items(), cart.total_cents(seed));
        self.payments += 1;
        if self.payments % FAILED_CHECKOUT_EVERY == 0 {
            self.counts.failed_checkouts += 1;
            return Err(Refusal::Unavailable);
        }
        if let Some(cart) = self.by_token.get_mut(token).and_then(|s| s.cart.as_mut()) {
            cart.lines.clear();
        }
        self.counts.carts_with_items -= 1;
        self.counts.orders += 1;
        Ok(Order {
            id: self.counts.orders,
            items,
            total_cents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product_id: u64, qty: u64) -> Line {
        Line { product_id, qty }
    }

    #[test]
    fn tokens_are_distinct_and_follow_the_seed() {
        let (mut a, mut b) = (Sessions::default(), Sessions::default());
        let first = a.login(1);
        assert_eq!(first.len(), 32);
        assert_ne!(a.login(1), first);
        assert_eq!(b.login(1), first);
        assert_ne!(Sessions::default().login(2), first);
    }

    #[test]
    fn a_cart_is_made_on_the_first_addition_and_needs_its_cookie() {
        let mut sessions = Sessions::default();
        let token = sessions.login(1);
        assert_eq!(sessions.cart(&token, None), Err(Refusal::WrongCart));
        let first = sessions.add(1, &token, line(4, 2)).expect("added");
        assert!(first.new_cart);
        let second = sessions.add(1, &token, line(4, 1)).expect("added");
        assert_eq!((second.new_cart, second.items), (false, 3));
        assert_eq!(second.cart_id, first.cart_id);
        let cart = sessions.cart(&token, Some(&first.cart_id)).expect("cart");
        assert_eq!(cart.lines, BTreeMap::from([(4, 3)]));
        assert_eq!(sessions.cart(&token, Some("c0")), Err(Refusal::WrongCart));
        assert_eq!(sessions.cart("nope", None), Err(Refusal::Unauthorized));
        assert_eq!(
            sessions.add(1, "nope", line(4, 1)),
            Err(Refusal::Unauthorized)
        );
        let counts = sessions.counts();
        assert_eq!(
            (counts.carts, counts.carts_with_items, counts.cart_adds),
            (1, 1, 2)
        );
    }

    #[test]
    fn every_fiftieth_checkout_fails_and_keeps_the_cart() {
        let mut sessions = Sessions::default();
        let token = sessions.login(1);
        let cart_id = sessions.add(1, &token, line(1, 1)).expect("added").cart_id;
        let cookie = Some(cart_id.as_str());
        assert_eq!(sessions.checkout(1, &token, None), Err(Refusal::WrongCart));
        let mut failed = Vec::new();
        for n in 1..=100 {
            match sessions.checkout(1, &token, cookie) {
                Ok(order) => assert_eq!(order.items, 1),
                Err(refusal) => {
                    assert_eq!(refusal, Refusal::Unavailable);
                    failed.push(n);
                    continue;
                }
            }
            assert_eq!(
                sessions.checkout(1, &token, cookie),
                Err(Refusal::EmptyCart)
            );
            sessions.add(1, &token, line(1, 1)).expect("added");
        }
        assert_eq!(failed, [50, 100]);
        let counts = sessions.counts();
        assert_eq!((counts.orders, counts.failed_checkouts), (98, 2));
        assert_eq!(counts.carts_with_items, 1);
    }

    #[test]
    fn the_oldest_sessions_are_forgotten_with_their_carts() {
        let mut sessions = Sessions::default();
        let oldest = sessions.login(1);
        sessions.add(1, &oldest, line(1, 1)).expect("added");
        for _ in 0..MAX_SESSIONS {
            sessions.login(1);
        }
        assert_eq!(sessions.by_token.len(), MAX_SESSIONS);
        assert_eq!(
            sessions.add(1, &oldest, line(1, 1)),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(sessions.counts().carts_with_items, 0);
    }
}
