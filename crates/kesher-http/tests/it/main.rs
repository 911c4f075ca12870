//! kesher-http integration tests: the real server on a loopback port, driven over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod api;
mod benefits;
mod bounds;
mod browser;
mod customer_input;
mod fuzz;
mod jobs;
mod loyalty;
mod openapi;
mod points;
mod segments;
mod support;
mod web;
