//! Crash safety: the real `strain-seer serve` binary takes a long series of edits through the
//! API while it is killed with SIGKILL at random moments (often while a request is in flight)
//! and restarted on the same data directory. Every edit the server acknowledged (200) must be
//! there afterwards, an edit that was not acknowledged may or may not be, nothing may be mixed,
//! uploads are all-or-nothing, and the database must pass `PRAGMA integrity_check`.
//!
//! Sizes: `STRAIN_SEER_CRASH_EDITS` (default 300), `STRAIN_SEER_CRASH_KILLS` (default 10),
//! `STRAIN_SEER_CRASH_SEED` (default: from the clock; printed, to replay a run).

#![allow(clippy::unwrap_used)]

use crate::api_support::png;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::blocking::Client;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Images edited in turn.
const IMAGES: usize = 8;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A running server process and its base URL.
struct Process {
    child: Arc<Mutex<Child>>,
    base: String,
}

impl Process {
    fn start(data_dir: &Path) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strain-seer"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .env_remove("STRAIN_SEER_TOKEN")
            .env_remove("STRAIN_SEER_NO_AUTH")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server exited before saying where it listens")
                .unwrap();
            if let Some(at) = line.find("http://") {
                let url = line[at..].split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Process {
            child: Arc::new(Mutex::new(child)),
            base,
        }
    }

    fn handle(&self) -> Arc<Mutex<Child>> {
        Arc::clone(&self.child)
    }

    /// SIGKILL (no chance to close anything) and reap.
    fn kill(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// SIGKILL a process after `delay` (from another thread, while a request is in flight).
fn kill_later(child: Arc<Mutex<Child>>, delay: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
    })
}

/// Edit number `k` as a whole annotation; every part encodes `k`.
fn edit(k: u64) -> Value {
    let o = (k % 40) as f64;
    json!({
        "fiducials": [[10.0 + o, 10.0], [150.0 + o, 12.0], [151.0 + o, 150.0], [9.0 + o, 151.0], [80.0 + o, 80.0 + o / 2.0]],
        "scale": [[5.0, 190.0 - o], [105.0, 190.0 - o]],
        "deformation_distance": k as f64,
    })
}

/// The edit an image holds (`None`: never edited); panics on a state that is no whole edit.
fn decode(fiducials: &Value, scale: &Value, distance: Option<f64>) -> Option<u64> {
    let Some(d) = distance else {
        assert_eq!(fiducials, &json!([]), "points without a distance");
        return None;
    };
    let k = d as u64;
    let whole = edit(k);
    assert_eq!(
        fiducials, &whole["fiducials"],
        "fiducials mixed from another edit than {k}"
    );
    assert_eq!(
        scale, &whole["scale"],
        "scale mixed from another edit than {k}"
    );
    Some(k)
}

/// What the client knows about one image.
#[derive(Debug, Default, Clone)]
struct Expect {
    acked: Option<u64>,
    /// Edits sent after `acked` whose answer never arrived: each may or may not have landed.
    maybe: Vec<u64>,
}

impl Expect {
    /// Is `stored` what this image may hold? Counts as a loss otherwise.
    fn allows(&self, stored: Option<u64>) -> bool {
        stored == self.acked || stored.is_some_and(|k| self.maybe.contains(&k))
    }
}

fn read_state(client: &Client, base: &str, project: i64) -> BTreeMap<i64, Option<u64>> {
    let body: Value = client
        .get(format!("{base}/api/projects/{project}/images?limit=1000"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|image| {
            let k = decode(
                &image["fiducials"],
                &image["scale"],
                image["deformation_distance"].as_f64(),
            );
            (image["id"].as_i64().unwrap(), k)
        })
        .collect()
}

fn count_losses(state: &BTreeMap<i64, Option<u64>>, expected: &BTreeMap<i64, Expect>) -> usize {
    expected
        .iter()
        .filter(|(id, e)| {
            let stored = state.get(id).copied().flatten();
            let ok = e.allows(stored);
            if !ok {
                eprintln!("LOST: image {id} holds {stored:?}, expected {e:?}");
            }
            !ok
        })
        .count()
}

#[test]
fn acknowledged_edits_survive_sigkill() {
    let edits = env_number("STRAIN_SEER_CRASH_EDITS", 300);
    let kills = env_number("STRAIN_SEER_CRASH_KILLS", 10).min(edits.saturating_sub(1));
    let seed = env_number(
        "STRAIN_SEER_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    );
    println!("crash safety: seed {seed} (replay with STRAIN_SEER_CRASH_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::builder()
        // Shorter than the server's keep-alive timeout (5 s): a pooled connection is never reused
        // just as the server closes it.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let mut server = Process::start(dir.path());
    let project: Value = client
        .post(format!("{}/api/projects", server.base))
        .json(&json!({ "name": "Crash" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let project = project["id"].as_i64().unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..IMAGES)
        .map(|i| (format!("img-{i}.png"), png(200, 200 + i as u32)))
        .collect();
    let form = files.iter().fold(Form::new(), |form, (name, bytes)| {
        form.part("file", Part::bytes(bytes.clone()).file_name(name.clone()))
    });
    let records: Value = client
        .post(format!("{}/api/projects/{project}/images", server.base))
        .multipart(form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ids: Vec<i64> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), IMAGES);

    let mut kill_at = HashSet::new();
    while (kill_at.len() as u64) < kills {
        kill_at.insert(rng.random_range(1..edits));
    }
    let mut expected: BTreeMap<i64, Expect> =
        ids.iter().map(|&id| (id, Expect::default())).collect();
    let (mut acked, mut unacked, mut restarts, mut losses) = (0u64, 0u64, 0u64, 0usize);
    for k in 0..edits {
        let id = ids[(k as usize) % IMAGES];
        let killer = kill_at.contains(&k).then(|| {
            kill_later(
                server.handle(),
                Duration::from_micros(rng.random_range(0..1500)),
            )
        });
        let url = format!("{}/api/projects/{project}/images/{id}", server.base);
        let answer = client.patch(url).json(&edit(k)).send();
        let entry = expected.get_mut(&id).unwrap();
        match answer.map(|r| (r.status().as_u16(), r.json::<Value>())) {
            Ok((200, Ok(body))) => {
                let image = &body["image"];
                let shown = decode(
                    &image["fiducials"],
                    &image["scale"],
                    image["deformation_distance"].as_f64(),
                );
                assert_eq!(shown, Some(k), "the answer shows another edit");
                entry.acked = Some(k);
                entry.maybe.clear();
                acked += 1;
            }
            other => {
                assert!(
                    killer.is_some(),
                    "edit {k} failed without a kill: {other:?}"
                );
                entry.maybe.push(k);
                unacked += 1;
            }
        }
        if let Some(killer) = killer {
            killer.join().unwrap();
            server.kill();
            server = Process::start(dir.path());
            restarts += 1;
            // Everything acknowledged so far is there after the restart.
            losses += count_losses(&read_state(&client, &server.base, project), &expected);
        }
    }

    // Uploads killed in flight are all-or-nothing.
    let mut upload_kills = 0;
    for round in 0..3u32 {
        let before = read_state(&client, &server.base, project).len();
        let form = (0..4u32).fold(Form::new(), |form, i| {
            form.part(
                "file",
                Part::bytes(png(120, 100 + round * 10 + i))
                    .file_name(format!("late-{round}-{i}.png")),
            )
        });
        let killer = kill_later(
            server.handle(),
            Duration::from_micros(rng.random_range(0..20_000)),
        );
        let answer = client
            .post(format!("{}/api/projects/{project}/images", server.base))
            .multipart(form)
            .send();
        killer.join().unwrap();
        let landed = answer.is_ok_and(|r| r.status() == 201);
        server.kill();
        server = Process::start(dir.path());
        upload_kills += 1;
        let after = read_state(&client, &server.base, project).len();
        assert!(
            after == before || after == before + 4,
            "a killed upload left {} of 4 images",
            after - before
        );
        if landed {
            assert_eq!(after, before + 4, "an acknowledged upload is missing");
        }
    }

    // Final state through the API, then straight from the database after a last SIGKILL.
    let state = read_state(&client, &server.base, project);
    losses += count_losses(&state, &expected);
    server.kill();
    let conn = rusqlite::Connection::open(dir.path().join("strain-seer.db")).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let mut stmt = conn
        .prepare(
            "SELECT id, fiducials, scale, deformation_distance FROM images WHERE project_id = ?1",
        )
        .unwrap();
    let rows: BTreeMap<i64, Option<u64>> = stmt
        .query_map([project], |r| {
            let fiducials: String = r.get(1)?;
            let scale: String = r.get(2)?;
            let distance: Option<f64> = r.get(3)?;
            Ok((r.get::<_, i64>(0)?, fiducials, scale, distance))
        })
        .unwrap()
        .map(|row| {
            let (id, f, s, d) = row.unwrap();
            (
                id,
                decode(
                    &serde_json::from_str(&f).unwrap(),
                    &serde_json::from_str(&s).unwrap(),
                    d,
                ),
            )
        })
        .collect();
    for id in &ids {
        assert_eq!(
            rows.get(id),
            state.get(id),
            "image {id}: the database and the API disagree"
        );
    }
    losses += count_losses(&rows, &expected);
    println!(
        "crash safety: {edits} edits ({acked} acknowledged, {unacked} cut by a kill), {restarts} SIGKILLs during edits \
         + {upload_kills} during uploads, {} restarts, losses = {losses}, integrity_check = {integrity}, {:.1} s",
        restarts + upload_kills,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(losses, 0, "acknowledged edits were lost");
    assert_eq!(restarts, kills);
}
