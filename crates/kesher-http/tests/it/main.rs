//! kesher-http integration tests: the real server on a loopback port, driven over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod admin;
mod api;
mod benefits;
mod bounds;
mod browser;
mod campaigns;
mod customer_input;
mod fuzz;
mod jobs;
mod loyalty;
mod loyalty_design;
mod loyalty_kpis;
mod openapi;
mod points;
mod segments;
mod support;
mod web;
