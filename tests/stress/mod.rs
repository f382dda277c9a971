//! The server stress tests: the real `strain-seer serve` binary under slow clients, a full disk,
//! SIGTERM mid-upload and memory-hungry load. They assert latencies and resident memory, which
//! other tests running in the same process at the same time would disturb, so every one is
//! `#[ignore]`d in the normal run and runs alone, one at a time:
//!
//! ```sh
//! cargo test --test tests -- --ignored --test-threads=1
//! ```
//!
//! (`.ci/run` does, after the normal `cargo test`; `--features pdf,video` there only so that the
//! build is the one already made.) Only these tests are ignored, so `--ignored` selects exactly
//! them; add a filter such as `stress::slow_clients` to run one file.

mod disk_full;
mod load_memory;
mod shutdown_uploads;
mod slow_clients;
