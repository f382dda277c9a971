//! The `strain-seer` binary: parse arguments, run, print one error line.

use std::process::ExitCode;

fn main() -> ExitCode {
    match strain_seer::cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("strain-seer: error: {err:#}");
            ExitCode::from(strain_seer::cli::exit_code_for(&err))
        }
    }
}
