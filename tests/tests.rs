//! The integration tests of the root crate, one binary (ripgrep's layout: `autotests = false`,
//! each area a module): one link of the crate instead of one per file.
//!
//! - `cargo test --test tests` runs everything but the server stress tests (`stress`: slow
//!   clients, disk full, SIGTERM mid-upload, memory under load). They assert latencies and
//!   memory of a server under load, which the other tests running in the same process at the
//!   same time would disturb, so they are `#[ignore]`d here and run alone, one at a time:
//!   `cargo test --test tests -- --ignored --test-threads=1` (`.ci/run` runs both).
//! - `--features video` adds `video` (films decoded through FFmpeg, the film upload over HTTP);
//!   without it `api_video_disabled` checks the server's answer when films are not built in.
//!
//! Shared helpers: `api_support` (an in-process server, forms, demo data) and `server_process`
//! (the real binary as a child process, raw HTTP timing, /proc readings).

#![allow(clippy::unwrap_used)]

mod api_support;
mod server_process;

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
mod stress;
#[cfg(feature = "video")]
mod video;
