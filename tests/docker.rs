//! The Dockerfile keeps the promises of docs/docker.md (no Docker engine runs in CI, so these
//! are checked on the text; `.ci/container-smoke` checks the runtime behaviour).

use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

/// The runtime stage: everything after the last `FROM`.
fn runtime_stage(dockerfile: &str) -> &str {
    let start = dockerfile.rfind("\nFROM ").expect("a FROM line");
    &dockerfile[start..]
}

#[test]
fn runtime_stage_runs_as_appuser_uid_1000() {
    let dockerfile = read("Dockerfile");
    let runtime = runtime_stage(&dockerfile);
    assert!(
        runtime.contains("\nUSER appuser\n"),
        "runtime stage must switch to appuser"
    );
    assert!(runtime.contains("appuser:x:1000:1000") || dockerfile.contains("appuser:x:1000:1000"));
    assert!(runtime.contains("--chown=1000:1000 /out/data /data"));
    assert!(runtime.contains("--chown=1000:1000 /out/tmp/app /tmp/app"));
    assert!(runtime.contains("TMPDIR=/tmp/app"));
    assert!(runtime.contains("VOLUME [\"/data\"]"));
}

#[test]
fn runtime_stage_has_no_shell_or_build_tools() {
    let dockerfile = read("Dockerfile");
    let runtime = runtime_stage(&dockerfile);
    assert!(
        runtime.starts_with("\nFROM gcr.io/distroless/cc-debian12:"),
        "distroless runtime base"
    );
    for forbidden in ["apt-get", "curl", "wget", "RUN "] {
        assert!(
            !runtime.contains(forbidden),
            "runtime stage must not contain {forbidden:?}"
        );
    }
}

#[test]
fn server_listens_on_8501_on_all_interfaces_with_data_in_volume() {
    let dockerfile = read("Dockerfile");
    let runtime = runtime_stage(&dockerfile);
    assert!(runtime.contains("EXPOSE 8501"));
    assert!(runtime.contains("STRAIN_SEER_HOST=0.0.0.0"));
    assert!(runtime.contains("STRAIN_SEER_PORT=8501"));
    assert!(runtime.contains("STRAIN_SEER_DATA_DIR=/data"));
}

#[test]
fn healthcheck_uses_the_binary_with_the_documented_options() {
    let dockerfile = read("Dockerfile");
    let expected = "HEALTHCHECK --interval=30s --timeout=30s --start-period=5s --retries=3 \\\n    \
                    CMD [\"/usr/local/bin/strain-seer\", \"healthcheck\"]";
    assert!(dockerfile.contains(expected), "HEALTHCHECK line changed");
    assert!(
        read("docs/docker.md").contains(expected),
        "docs/docker.md shows another HEALTHCHECK"
    );
}

#[test]
fn version_label_matches_cargo() {
    let dockerfile = read("Dockerfile");
    let arg = format!("ARG VERSION={}", env!("CARGO_PKG_VERSION"));
    assert!(dockerfile.contains(&arg), "Dockerfile must say {arg}");
    for label in ["title", "description", "licenses", "source", "version"] {
        assert!(
            dockerfile.contains(&format!("org.opencontainers.image.{label}=")),
            "label {label}"
        );
    }
}

#[test]
fn dependencies_build_in_their_own_layer_before_the_sources() {
    let dockerfile = read("Dockerfile");
    let cook = dockerfile
        .find("cargo chef cook --release --locked")
        .expect("cargo chef cook");
    let copy_sources = dockerfile[cook..]
        .find("COPY . .")
        .expect("sources copied after cook");
    assert!(dockerfile[cook + copy_sources..].contains("cargo build --release --locked"));
}

#[test]
fn dockerignore_keeps_build_output_and_vcs_out() {
    let ignore = read(".dockerignore");
    for entry in ["target/", ".git/", "test-output/", "node_modules/"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore must list {entry}"
        );
    }
}

#[test]
fn documented_commands_match_the_dockerfile() {
    let doc = read("docs/docker.md");
    for command in [
        "docker build -t strain-seer .",
        "docker run -d -p 8501:8501 -v strain-seer-data:/data --name strain-seer strain-seer",
        "docker stop strain-seer",
        "docker volume rm strain-seer-data",
    ] {
        assert!(
            doc.contains(command),
            "docs/docker.md must show `{command}`"
        );
    }
    assert!(read("Dockerfile").contains(
        "docker run -d -p 8501:8501 -v strain-seer-data:/data --name strain-seer strain-seer"
    ));
    assert!(
        read("README.md").contains("docs/docker.md"),
        "README must link docs/docker.md"
    );
}
