//! `strain-seer detect`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DetectArgs {}

pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let _ = args;
    anyhow::bail!("`detect` is being built")
}
