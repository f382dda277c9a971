//! The size and count limits of `strain-seer serve` as flags and environment variables, turned
//! into [`Limits`]. The defaults are those of [`Limits::default`] (see docs/reliability.md).

use super::Limits;

const MIB: u64 = 1024 * 1024;

/// Limits flags of `strain-seer serve` (each also an environment variable).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct LimitArgs {
    /// Largest uploaded file (image or project JSON), MiB.
    #[arg(long, env = "STRAIN_SEER_MAX_UPLOAD_MB", default_value_t = 50, value_name = "MIB")]
    pub max_upload_mb: u64,
    /// Largest whole upload or import request (all its files together), MiB.
    #[arg(long, env = "STRAIN_SEER_MAX_REQUEST_MB", default_value_t = 1024, value_name = "MIB")]
    pub max_request_mb: u64,
    /// Largest JSON request body (an edit, a new project), MiB.
    #[arg(long, env = "STRAIN_SEER_MAX_JSON_MB", default_value_t = 2, value_name = "MIB")]
    pub max_json_mb: u64,
    /// Most pixels (width × height) in an uploaded image, read from the file's header before
    /// anything is decoded.
    #[arg(long, env = "STRAIN_SEER_MAX_PIXELS", default_value_t = 100_000_000, value_name = "PIXELS")]
    pub max_pixels: u64,
    /// Most images in one project.
    #[arg(long, env = "STRAIN_SEER_MAX_IMAGES", default_value_t = 20_000, value_name = "COUNT")]
    pub max_images: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        let limits = Limits::default();
        let mib = |bytes: usize| bytes as u64 / MIB;
        Self {
            max_upload_mb: mib(limits.max_file_bytes),
            max_request_mb: mib(limits.max_upload_bytes),
            max_json_mb: mib(limits.max_json_bytes),
            max_pixels: limits.max_pixels,
            max_images: limits.max_images_per_project,
        }
    }
}

fn bytes(flag: &str, mib: u64) -> Result<usize, String> {
    if mib == 0 {
        return Err(format!("--{flag} must be at least 1 (MiB)"));
    }
    mib.checked_mul(MIB)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("--{flag} {mib} is too large for this machine"))
}

impl LimitArgs {
    /// Check the values (every limit at least 1; a request can hold at least one largest file)
    /// and convert them.
    pub fn limits(&self) -> Result<Limits, String> {
        let limits = Limits {
            max_json_bytes: bytes("max-json-mb", self.max_json_mb)?,
            max_upload_bytes: bytes("max-request-mb", self.max_request_mb)?,
            max_file_bytes: bytes("max-upload-mb", self.max_upload_mb)?,
            max_pixels: self.max_pixels,
            max_images_per_project: self.max_images,
        };
        if limits.max_pixels == 0 {
            return Err("--max-pixels must be at least 1".into());
        }
        if limits.max_images_per_project == 0 {
            return Err("--max-images must be at least 1".into());
        }
        if self.max_request_mb < self.max_upload_mb {
            return Err(format!(
                "--max-request-mb ({}) is smaller than --max-upload-mb ({}): a request could not hold one \
                 file of the largest allowed size",
                self.max_request_mb, self.max_upload_mb
            ));
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let parsed = Cli::try_parse_from(["x"]).map(|c| c.limits);
        assert_eq!(parsed.as_ref().ok(), Some(&LimitArgs::default()));
        assert_eq!(LimitArgs::default().limits(), Ok(Limits::default()));
    }

    #[test]
    fn flags_convert_and_are_checked() {
        let args = LimitArgs {
            max_upload_mb: 3,
            max_request_mb: 10,
            max_json_mb: 1,
            max_pixels: 1000,
            max_images: 7,
        };
        let limits = args.limits();
        assert_eq!(
            limits,
            Ok(Limits {
                max_json_bytes: 1024 * 1024,
                max_upload_bytes: 10 * 1024 * 1024,
                max_file_bytes: 3 * 1024 * 1024,
                max_pixels: 1000,
                max_images_per_project: 7,
            })
        );
        let zero = LimitArgs { max_pixels: 0, ..args.clone() };
        assert!(zero.limits().is_err_and(|e| e.contains("--max-pixels")));
        let small_request = LimitArgs { max_request_mb: 2, ..args.clone() };
        assert!(small_request.limits().is_err_and(|e| e.contains("--max-request-mb")));
        let no_json = LimitArgs { max_json_mb: 0, ..args };
        assert!(no_json.limits().is_err_and(|e| e.contains("--max-json-mb")));
        let parsed = Cli::try_parse_from(["x", "--max-upload-mb", "7", "--max-images", "3"]).map(|c| c.limits);
        assert!(parsed.is_ok_and(|l| l.max_upload_mb == 7 && l.max_images == 3));
    }
}
