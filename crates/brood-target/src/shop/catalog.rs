//! The shop's catalogue and pace: products derived from their ids, and latencies drawn from a
//! seeded sequence.
//!
//! Nothing here is stored: product `n` is computed from the seed and `n` whenever it is asked for,
//! and the `k`-th latency of a kind of answer from the seed, the kind and `k`. So the same seed
//! and the same order of requests always give the same catalogue and the same waits.

use std::time::Duration;

use serde_json::{json, Value};

/// Products have ids `1..=PRODUCTS`.
pub(crate) const PRODUCTS: u64 = 500;

/// Products on one page of the listing.
pub(crate) const PAGE_SIZE: u64 = 20;

/// Pages of the listing that hold products; later pages are empty.
pub(crate) const PAGES: u64 = PRODUCTS.div_ceil(PAGE_SIZE);

/// Every `SLOW_SEARCH_EVERY`-th search is slow.
pub(crate) const SLOW_SEARCH_EVERY: u64 = 10;

const ADJECTIVES: [&str; 16] = [
    "Sturdy", "Quiet", "Bright", "Compact", "Vintage", "Rugged", "Gentle", "Swift", "Cosy", "Bold",
    "Humble", "Clever", "Silver", "Golden", "Tiny", "Grand",
];

const NOUNS: [&str; 20] = [
    "Lamp", "Kettle", "Backpack", "Notebook", "Chair", "Teapot", "Blanket", "Umbrella", "Clock",
    "Mug", "Scarf", "Lantern", "Basket", "Pillow", "Bicycle", "Compass", "Candle", "Wallet",
    "Journal", "Radio",
];

/// SplitMix64's output function: a bijection on `u64` that scatters neighbouring inputs, so
/// `mix(base + n)` serves as the `n`-th draw of a generator whose only state is `n`.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `n`-th draw of the stream `stream` under `seed`. Distinct `n` give distinct draws.
pub(crate) fn draw(seed: u64, stream: u64, n: u64) -> u64 {
    mix(mix(seed ^ mix(stream)).wrapping_add(n))
}

/// Streams of draws, one per use, so that one use never shifts another's sequence.
pub(crate) mod stream {
    pub(crate) const NAME: u64 = 1;
    pub(crate) const PRICE: u64 = 2;
    pub(crate) const TOKEN: u64 = 3;
    pub(crate) const USER: u64 = 4;
    pub(crate) const CART: u64 = 5;
    /// Latencies use `PACE + pace index`.
    pub(crate) const PACE: u64 = 100;
}

/// One product of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Product {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) price_cents: u64,
}

impl Product {
    /// Product `id`, if the catalogue has it.
    pub(crate) fn get(seed: u64, id: u64) -> Option<Product> {
        if !(1..=PRODUCTS).contains(&id) {
            return None;
        }
        let name_draw = draw(seed, stream::NAME, id);
        // Both indices are below the lengths of small arrays, so the casts are lossless.
        let adjective = ADJECTIVES[(name_draw % ADJECTIVES.len() as u64) as usize];
        let noun = NOUNS[((name_draw >> 32) % NOUNS.len() as u64) as usize];
        // From 1.99 to 249.99, always ending in 9 cents as shop prices like to.
        let price_cents = 199 + (draw(seed, stream::PRICE, id) % 2480) * 10;
        Some(Product {
            id,
            name: format!("{adjective} {noun}"),
            price_cents,
        })
    }

    /// The listing form: `{"id", "name", "price"}`.
    pub(crate) fn summary(&self) -> Value {
        json!({ "id": self.id, "name": self.name, "price": price(self.price_cents) })
    }

    /// The detail form: the listing form with a description.
    pub(crate) fn detail(&self) -> Value {
        let mut value = self.summary();
        let description = format!(
            "A {} from the brood demo shop, item {} of {PRODUCTS}.",
            self.name.to_lowercase(),
            self.id
        );
        value["description"] = Value::from(description);
        value
    }
}

/// A price in cents as a JSON number of currency units, such as `12.99`.
pub(crate) fn price(cents: u64) -> Value {
    // Prices stay far below 2^53 cents, where f64 is exact; JSON shows the shortest decimal.
    Value::from(cents as f64 / 100.0)
}

/// The products of listing page `page` (counted from 1); empty past the last page.
pub(crate) fn page(seed: u64, page: u64) -> Vec<Product> {
    let first = page
        .saturating_sub(1)
        .saturating_mul(PAGE_SIZE)
        .saturating_add(1);
    (first..first.saturating_add(PAGE_SIZE))
        .map_while(|id| Product::get(seed, id))
        .collect()
}

/// Products whose name contains `query`, ignoring case, in id order: how many there are, and
/// the first `limit` of them.
pub(crate) fn search(seed: u64, query: &str, limit: usize) -> (usize, Vec<Product>) {
    let needle = query.to_lowercase();
    let mut found = (1..=PRODUCTS)
        .filter_map(|id| Product::get(seed, id))
        .filter(|product| product.name.to_lowercase().contains(&needle));
    let first: Vec<Product> = found.by_ref().take(limit).collect();
    (first.len() + found.count(), first)
}

/// The kinds of answer that take time, each with its own latency sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pace {
    Home,
    Login,
    Products,
    Product,
    Search,
    CartAdd,
    CartView,
    Checkout,
}

impl Pace {
    pub(crate) const ALL: [Pace; 8] = [
        Pace::Home,
        Pace::Login,
        Pace::Products,
        Pace::Product,
        Pace::Search,
        Pace::CartAdd,
        Pace::CartView,
        Pace::Checkout,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The inclusive range of milliseconds the `n`-th answer (counted from 1) waits.
    pub(crate) fn range(self, n: u64) -> (u64, u64) {
        match self {
            Pace::Home => (2, 6),
            Pace::Login => (10, 20),
            Pace::Products => (15, 40),
            Pace::Product => (10, 30),
            Pace::Search if n % SLOW_SEARCH_EVERY == 0 => (150, 250),
            Pace::Search => (5, 15),
            Pace::CartAdd => (5, 15),
            Pace::CartView => (3, 8),
            Pace::Checkout => (20, 45),
        }
    }

    /// How long the `n`-th answer of this kind waits under `seed`.
    pub(crate) fn latency(self, seed: u64, n: u64) -> Duration {
        let (low, high) = self.range(n);
        let jitter = draw(seed, stream::PACE + self.index() as u64, n) % (high - low + 1);
        Duration::from_millis(low + jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_exist_from_one_to_the_last_id() {
        assert_eq!(Product::get(7, 0), None);
        assert_eq!(Product::get(7, PRODUCTS + 1), None);
        let product = Product::get(7, PRODUCTS).expect("the last product");
        assert_eq!(product, Product::get(7, PRODUCTS).expect("again"));
        assert!((199..25_000).contains(&product.price_cents));
        assert_eq!(product.price_cents % 10, 9);
    }

    #[test]
    fn pages_cover_the_catalogue_once() {
        let ids: Vec<u64> = (1..=PAGES + 1)
            .flat_map(|n| page(3, n))
            .map(|product| product.id)
            .collect();
        assert_eq!(ids, (1..=PRODUCTS).collect::<Vec<_>>());
        assert_eq!(page(3, 1).len(), 20);
        assert!(page(3, PAGES + 1).is_empty());
        assert!(page(3, u64::MAX).is_empty());
    }

    #[test]
    fn every_noun_finds_products_and_counts_them_all() {
        for noun in NOUNS {
            let (total, first) = search(11, &noun.to_uppercase(), 5);
            assert!(total > 0, "{noun}");
            assert_eq!(first.len(), total.min(5));
            assert!(first.iter().all(|p| p.name.ends_with(noun)));
        }
        assert_eq!(search(11, "zebra", 5), (0, Vec::new()));
    }

    #[test]
    fn latencies_stay_in_range_and_every_tenth_search_is_slow() {
        for pace in Pace::ALL {
            for n in 1..=200 {
                let (low, high) = pace.range(n);
                let ms = pace.latency(5, n).as_millis() as u64;
                assert!((low..=high).contains(&ms), "{pace:?} {n}: {ms}");
            }
        }
        let slow: Vec<u64> = (1..=30)
            .filter(|&n| Pace::Search.latency(5, n) >= Duration::from_millis(150))
            .collect();
        assert_eq!(slow, [10, 20, 30]);
    }

    #[test]
    fn seeds_change_the_draws_but_not_their_ranges() {
        assert_ne!(draw(1, stream::TOKEN, 1), draw(2, stream::TOKEN, 1));
        assert_ne!(draw(1, stream::TOKEN, 1), draw(1, stream::CART, 1));
        assert_eq!(Pace::Login.latency(9, 4), Pace::Login.latency(9, 4));
    }
}
