//! HTTP targets with known behaviour.
