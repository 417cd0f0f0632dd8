//! Run outputs written to any `impl Write`.
