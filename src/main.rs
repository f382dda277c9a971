//! The `strain-seer` binary: parse arguments, run, print one error line.

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: it hands freed pages back to the OS, so a server that has
/// decoded photos or analysed a large project goes back to a small resident size when idle
/// (measured in docs/performance.md), without tuning glibc through environment variables.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match strain_seer::cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("strain-seer: error: {err:#}");
            ExitCode::from(strain_seer::cli::exit_code_for(&err))
        }
    }
}
