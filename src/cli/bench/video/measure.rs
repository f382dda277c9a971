//! How the video bench measures a step: wall time and peak resident memory, for work done in
//! this process (the high-water mark reset first) or by a child program (sampled every 5 ms from
//! another thread), and the table rows it prints them as.

use anyhow::{Context, bail};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A work folder removed when the bench ends, however it ends.
pub(super) struct WorkDir(pub(super) PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Wall time and peak resident memory of one step.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Measure {
    pub(super) wall: Duration,
    /// Peak RSS, kB (0 when unknown).
    pub(super) peak_kb: u64,
}

impl Measure {
    pub(super) fn then(self, other: Measure) -> Measure {
        Measure {
            wall: self.wall + other.wall,
            peak_kb: self.peak_kb.max(other.peak_kb),
        }
    }
}

/// `VmHWM` (peak RSS, kB) of a process from /proc (Linux); `None` elsewhere or once it ended.
fn vm_hwm_kb(pid: &str) -> Option<u64> {
    super::super::proc::status_kb(pid, "VmHWM")
}

/// Time a step of this process, with its peak RSS (the high-water mark is reset first, Linux).
pub(super) fn in_process<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Measure)> {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let out = f()?;
    let wall = t.elapsed();
    Ok((
        out,
        Measure {
            wall,
            peak_kb: vm_hwm_kb("self").unwrap_or(0),
        },
    ))
}

/// Run a program to its end (failing unless it exits 0), timing it and sampling its peak RSS
/// every 5 ms from another thread. Its standard error goes to `log`.
pub(super) fn child(cmd: &mut Command, log: &Path) -> anyhow::Result<Measure> {
    let what = format!("{cmd:?}");
    let err = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let t = Instant::now();
    let mut process = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let pid = process.id().to_string();
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (Arc::clone(&done), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = vm_hwm_kb(&pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let status = process.wait();
    let wall = t.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let status = status.with_context(|| format!("waiting for {what}"))?;
    if !status.success() {
        let tail = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(5).collect();
        bail!(
            "{what} failed ({status}): {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        );
    }
    Ok(Measure {
        wall,
        peak_kb: peak.load(Ordering::Relaxed),
    })
}

pub(super) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

pub(super) fn mb(kb: u64) -> String {
    if kb == 0 {
        "-".to_owned()
    } else {
        format!("{:.0} MB", kb as f64 / 1024.0)
    }
}

/// One line of the table: what, total, per frame or frames/s, peak RSS.
pub(super) fn row(what: &str, m: Measure, rate: String) {
    println!(
        "  {what:<58} {:>9.2} s {:>16} {:>8}",
        secs(m.wall),
        rate,
        mb(m.peak_kb)
    );
}

pub(super) fn fps(frames: usize, m: Measure) -> String {
    format!("{:.1} frames/s", frames as f64 / secs(m.wall).max(1e-9))
}

pub(super) fn per_frame(frames: usize, m: Measure) -> String {
    format!("{:.1} ms/frame", secs(m.wall) * 1e3 / frames.max(1) as f64)
}
