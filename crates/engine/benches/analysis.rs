//! `cargo bench -p strain-seer-engine --bench analysis`: points → strain table, uncertainty,
//! all default regressions and Poisson's ratio for synthetic projects of N images, with σ = 0
//! (no uncertainty propagation) and σ = 1 px. Criterion prints the time per analysis and the
//! throughput in images per second ("elem/s").

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use strain_seer_engine::synthetic::{SCALE_LENGTH_MM, synthetic_images};
use strain_seer_engine::{AnalysisOptions, analyze};

fn bench_analysis(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyze");
    for n in [7usize, 1_000, 100_000] {
        let images = synthetic_images(n, 42);
        group.throughput(Throughput::Elements(n as u64));
        if n >= 100_000 {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(8));
        } else {
            group
                .sample_size(50)
                .measurement_time(Duration::from_secs(3));
        }
        for sigma in [0.0, 1.0] {
            let options = AnalysisOptions {
                scale_length: SCALE_LENGTH_MM,
                sigma_px: sigma,
                ..AnalysisOptions::default()
            };
            group.bench_with_input(
                BenchmarkId::new(format!("sigma{sigma}"), n),
                &images,
                |b, images| b.iter(|| analyze(black_box(images), black_box(&options))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_analysis);
criterion_main!(benches);
