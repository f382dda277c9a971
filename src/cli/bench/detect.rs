//! `strain-seer bench detect`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DetectBenchArgs {}

pub fn run(args: DetectBenchArgs) -> anyhow::Result<ExitCode> {
    let _ = args;
    anyhow::bail!("`bench detect` is being built")
}
