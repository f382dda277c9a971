//! The Dockerfile and docs/docker.md agree, and the build keeps its caching structure. What the
//! image itself promises (user, health check, port, volume, environment, labels, no shell) is
//! asserted on the built image by `.ci/container` (`podman image inspect`), which also runs the
//! container through its lifecycle.

use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

#[test]
fn healthcheck_uses_the_binary_with_the_documented_options() {
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains(&format!("ARG VERSION={}", env!("CARGO_PKG_VERSION"))));
    let expected = "HEALTHCHECK --interval=30s --timeout=30s --start-period=5s --retries=3 \\\n    \
                    CMD [\"/usr/local/bin/strain-seer\", \"healthcheck\"]";
    assert!(dockerfile.contains(expected), "HEALTHCHECK line changed");
    assert!(
        read("docs/docker.md").contains(expected),
        "docs/docker.md shows another HEALTHCHECK"
    );
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
    for entry in [
        "target/",
        ".git/",
        "test-output/",
        "node_modules/",
        "tests/",
    ] {
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
