//! End-to-end tests of the targets, through real sockets on 127.0.0.1.

mod client;
mod protocols;
mod raw;
mod routes;
mod shop;
