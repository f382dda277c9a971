//! What the benches read about a process from Linux's `/proc`: a `kB` field of
//! `/proc/PID/status` (`VmRSS` resident now, `VmHWM` the peak). `None` elsewhere, or once the
//! process has ended.

/// A `kB` field (`VmRSS`, `VmHWM`, …) of `/proc/{pid}/status`; `pid` may be `self`.
pub fn status_kb(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
