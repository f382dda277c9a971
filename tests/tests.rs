//! The integration tests, one binary (ripgrep's layout: `autotests = false`, each file a module):
//! one link of the crate instead of one per file. The server stress tests (`disk_full`,
//! `load_memory`, `shutdown_uploads`, `slow_clients`) stay binaries of their own because they
//! assert latencies and memory of a server under load, which other tests running in the same
//! process at the same time would disturb.

#![allow(clippy::unwrap_used)]

mod api_support;

mod access;
mod api;
mod api_detect;
mod api_errors;
mod api_rules;
#[cfg(not(feature = "video"))]
mod api_video_disabled;
mod cli_analyze;
mod cli_detect;
mod crash_safety;
mod docker;
mod hostile_input;
mod regression;
mod report;
