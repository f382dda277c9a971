//! glibc malloc settings for the long-running server (`serve`).
//!
//! glibc's malloc raises its mmap threshold (up to 32 MiB) each time a large block is freed;
//! after that, large buffers (uploads, decoded photos, a 10 000-image analysis) come from the
//! heap and stay there, spread over one arena per thread: the idle server kept 40–64 MiB after
//! the benchmark's workload. A fixed threshold (glibc's own starting value, 128 KiB) and a single
//! arena bring that back to a few MiB above the start at no measurable cost in the benchmark (two
//! cores; the database is serialised anyway). Figures: docs/reliability.md, "Idle memory".
//!
//! The settings are made with `mallopt(3)` as the first thing `serve` does, before the async
//! runtime starts any thread. A value the user gives through the environment
//! (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_ARENA_MAX`) or `GLIBC_TUNABLES` (`glibc.malloc.…`) wins:
//! glibc has applied it at start, and it is left alone.
//!
//! This is the one place in the workspace with `unsafe`: the FFI call itself. (Before, `serve`
//! re-executed itself with the two environment variables set, to stay free of `unsafe`.)

/// The settings: `(mallopt parameter, value, environment variable, GLIBC_TUNABLES name)`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const SETTINGS: [(libc::c_int, libc::c_int, &str, &str); 2] = [
    (
        libc::M_MMAP_THRESHOLD,
        128 * 1024,
        "MALLOC_MMAP_THRESHOLD_",
        "glibc.malloc.mmap_threshold",
    ),
    (
        libc::M_ARENA_MAX,
        1,
        "MALLOC_ARENA_MAX",
        "glibc.malloc.arena_max",
    ),
];

/// Whether the user set this malloc parameter, by its variable or by `GLIBC_TUNABLES`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_by_user(env: &str, tunable: &str) -> bool {
    std::env::var_os(env).is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains(tunable))
}

/// Sets `M_MMAP_THRESHOLD` = 128 KiB and `M_ARENA_MAX` = 1 where the user has not set them. Returns the parameters it set, by their
/// environment variable's name (for the log and the tests).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn tune() -> Vec<&'static str> {
    let mut applied = Vec::new();
    for (param, value, env, tunable) in SETTINGS {
        if set_by_user(env, tunable) {
            continue;
        }
        // SAFETY: mallopt(3) takes two integers and only changes malloc's parameters; glibc
        // serialises it against allocations with the arena lock. Called before the runtime
        // starts its threads, so the single-arena limit applies to every arena created later.
        let ok = unsafe { libc::mallopt(param, value) };
        if ok == 1 {
            applied.push(env);
        }
    }
    applied
}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() -> Vec<&'static str> {
    Vec::new()
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn a_tunable_given_by_the_user_counts_as_set() {
        // The test process's own environment is read, so only the negative case is stable:
        // names that no environment sets are not "set by the user".
        assert!(!set_by_user(
            "STRAIN_SEER_TEST_NO_SUCH_VARIABLE",
            "glibc.malloc.no_such_tunable"
        ));
    }

    #[test]
    fn mallopt_accepts_both_settings() {
        // glibc returns 1 for a parameter it accepts; a typo'd constant would return 0.
        for (param, value, _, _) in SETTINGS {
            #[allow(unsafe_code)]
            // SAFETY: as in `tune`; the values are glibc's own defaults' order of magnitude.
            let ok = unsafe { libc::mallopt(param, value) };
            assert_eq!(ok, 1);
        }
    }
}
