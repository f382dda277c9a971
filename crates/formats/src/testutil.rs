//! A hand-built analysis of the demo numbers (truth.json) for the table and plot tests, which
//! must not depend on the engine's computation.

use strain_seer_engine::{
    Analysis, Component, ComponentRegression, ImageResult, Regression, StrainMeasures,
};

/// (filename, distance, εxx, εyy, εxy, Exx, Eyy, Exy, J) from testdata/demo/truth.json.
const ROWS: [(&str, f64, [f64; 7]); 4] = [
    (
        "deformation-00mm-force.png",
        0.0,
        [
            0.0,
            0.0,
            2.5994328203143333e-18,
            0.0,
            0.0,
            2.5994328203143333e-18,
            1.0,
        ],
    ),
    (
        "deformation-10mm-force.png",
        10.0,
        [
            0.1062140641126128,
            -0.19192853294356427,
            0.018450129500321672,
            0.11217015911054018,
            -0.1734408057485658,
            0.016665868988044157,
            0.8936040347151162,
        ],
    ),
    (
        "deformation-20mm-force.png",
        20.0,
        [
            0.17157852087210324,
            -0.326994056414334,
            -0.010745837790509435,
            0.18640839150166444,
            -0.2728711046293295,
            -0.016291745376216013,
            0.7890190334016749,
        ],
    ),
    (
        "deformation-30mm-force.png",
        30.0,
        [
            0.2815486388650752,
            -0.48005384339812995,
            -0.029884888334017926,
            0.3221986551511078,
            -0.35933336430881724,
            -0.05545781199833054,
            0.6710599072460792,
        ],
    ),
];

/// (component, slope, intercept, r², p, stderr, intercept stderr) from truth.json.
const FITS: [(Component, [f64; 6]); 3] = [
    (
        Component::EpsXx,
        [
            0.00910010373354716,
            0.0033337499592404063,
            0.9911750891251511,
            0.004422233512041961,
            0.0006071714186689644,
            0.01135913711850372,
        ],
    ),
    (
        Component::EpsYy,
        [
            -0.015752270536651597,
            -0.013460050139233098,
            0.9947253878146651,
            0.0026407929864661344,
            0.0008110951972887722,
            0.01517420168156201,
        ],
    ),
    (
        Component::EpsXy,
        [
            -0.0011885063229288488,
            0.01228244568788131,
            0.576083333119909,
            0.2409984630319192,
            0.0007209150453853379,
            0.013487085524012603,
        ],
    ),
];

pub(crate) fn demo_analysis() -> Analysis {
    let rows = ROWS
        .iter()
        .enumerate()
        .map(|(index, (name, d, v))| {
            let mut m = StrainMeasures::default();
            m.small.xx = v[0];
            m.small.yy = v[1];
            m.small.xy = v[2];
            m.green.xx = v[3];
            m.green.yy = v[4];
            m.green.xy = v[5];
            m.j = v[6];
            m.f = [[1.0 + v[0], v[2]], [v[2], 1.0 + v[1]]];
            let mut u = StrainMeasures::default();
            if index > 0 {
                u.small.xx = 0.006;
                u.small.yy = 0.005;
                u.small.xy = 0.004;
            }
            ImageResult {
                index,
                name: (*name).to_owned(),
                deformation: *d,
                mm_per_px: 0.0632,
                budget: strain_seer_engine::Budget {
                    points: u,
                    ..Default::default()
                },
                measures: m,
                uncertainty: u,
                focal_35mm: None,
                excluded: None,
            }
        })
        .collect();
    let regressions = FITS
        .iter()
        .map(|(component, f)| ComponentRegression {
            component: *component,
            regression: Regression {
                n: 4,
                slope: f[0],
                intercept: f[1],
                r_value: f[2].sqrt().copysign(f[0]),
                r_squared: f[2],
                p_value: f[3],
                stderr: f[4],
                intercept_stderr: f[5],
                slope_ci95: [
                    f[0] - 4.302652729911275 * f[4],
                    f[0] + 4.302652729911275 * f[4],
                ],
            },
        })
        .collect();
    Analysis {
        reference: 0,
        reference_name: ROWS[0].0.to_owned(),
        scale_length: 40.0,
        sigma_px: 1.0,
        scale_method: strain_seer_engine::ScaleMethod::Span,
        rows,
        regressions,
        poisson: None,
        excluded: Vec::new(),
    }
}
