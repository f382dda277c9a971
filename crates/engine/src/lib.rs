//! Strain Seer's engine: pure computation from annotated points to strain and regression,
//! plus marker and ruler detection on in-memory images. No file or network I/O, no web or CLI.

pub mod analysis;
pub mod budget;
pub mod component_names;
pub mod detect;
pub mod measure;
pub mod points;
pub mod regression;
pub mod scale;
pub mod strain;
pub mod stress;
pub mod synthetic;
pub mod uncertainty;

pub use analysis::{
    Analysis, AnalysisError, AnalysisErrorKind, AnalysisOptions, Axis, ComponentRegression,
    ImageInput, ImageResult, Poisson, analyze, auto_scale_method,
};
pub use budget::Budget;
pub use component_names::{ALL_COMPONENTS, UnknownComponent};
pub use measure::Measure;
pub use points::{Fiducials, ImageStatus, Point, PointError, PointRole, ScalePoints};
pub use regression::{Regression, RegressionError, linregress};
pub use scale::{FocalSource, ImageScale, RulerModel, ScaleError, ScaleMethod, TargetModel};
pub use strain::{Component, Deformation, Principal, StrainError, StrainMeasures, Tensor2};
pub use stress::{StressStrain, engineering_stress_mpa};
