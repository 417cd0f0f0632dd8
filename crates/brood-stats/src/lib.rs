//! Exact, mergeable request statistics.
