//! [`Component`]: every scalar the engine reports (small strain, Green–Lagrange, Hencky, their
//! principal values, J, rotation), with the stable keys, labels and units files and the API use,
//! and how each is read from [`StrainMeasures`].

use super::StrainMeasures;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Every scalar the engine reports, with stable keys used in files and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    EpsXx,
    EpsYy,
    EpsXy,
    GammaXy,
    Exx,
    Eyy,
    Exy,
    HenckyXx,
    HenckyYy,
    HenckyXy,
    Eps1,
    Eps2,
    EpsAngle,
    EpsMaxShear,
    E1,
    E2,
    EAngle,
    EMaxShear,
    J,
    Rotation,
    H1,
    H2,
    HAngle,
    HMaxShear,
}

impl Component {
    /// The components the Python tool reported and its files name `x_axis`, `y_axis`, `shear`.
    pub const DEFAULT: [Component; 3] = [Component::EpsXx, Component::EpsYy, Component::EpsXy];

    /// Every component, in declaration order (the order of tables and exports).
    pub const ALL: [Component; 24] = [
        Component::EpsXx,
        Component::EpsYy,
        Component::EpsXy,
        Component::GammaXy,
        Component::Exx,
        Component::Eyy,
        Component::Exy,
        Component::HenckyXx,
        Component::HenckyYy,
        Component::HenckyXy,
        Component::Eps1,
        Component::Eps2,
        Component::EpsAngle,
        Component::EpsMaxShear,
        Component::E1,
        Component::E2,
        Component::EAngle,
        Component::EMaxShear,
        Component::J,
        Component::Rotation,
        Component::H1,
        Component::H2,
        Component::HAngle,
        Component::HMaxShear,
    ];

    /// Stable key used in files and the API; identical to the serde name (e.g. `"eps_xx"`).
    pub fn key(self) -> &'static str {
        match self {
            Component::EpsXx => "eps_xx",
            Component::EpsYy => "eps_yy",
            Component::EpsXy => "eps_xy",
            Component::GammaXy => "gamma_xy",
            Component::Exx => "exx",
            Component::Eyy => "eyy",
            Component::Exy => "exy",
            Component::HenckyXx => "hencky_xx",
            Component::HenckyYy => "hencky_yy",
            Component::HenckyXy => "hencky_xy",
            Component::Eps1 => "eps1",
            Component::Eps2 => "eps2",
            Component::EpsAngle => "eps_angle",
            Component::EpsMaxShear => "eps_max_shear",
            Component::E1 => "e1",
            Component::E2 => "e2",
            Component::EAngle => "e_angle",
            Component::EMaxShear => "e_max_shear",
            Component::J => "j",
            Component::Rotation => "rotation",
            Component::H1 => "h1",
            Component::H2 => "h2",
            Component::HAngle => "h_angle",
            Component::HMaxShear => "h_max_shear",
        }
    }

    /// The component whose [`key`](Self::key) is `key` (exact, case-sensitive).
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }

    /// The component the Python tool's files call `name` (`x_axis`, `y_axis`, `shear`).
    pub fn from_legacy_name(name: &str) -> Option<Self> {
        Self::DEFAULT
            .into_iter()
            .find(|c| c.legacy_name() == Some(name))
    }

    /// Human-readable name with the measure it belongs to, e.g. `"εxx (small strain)"`.
    pub fn label(self) -> &'static str {
        match self {
            Component::EpsXx => "εxx (small strain)",
            Component::EpsYy => "εyy (small strain)",
            Component::EpsXy => "εxy (small strain, tensor shear)",
            Component::GammaXy => "γxy (engineering shear strain, 2εxy)",
            Component::Exx => "Exx (Green–Lagrange strain)",
            Component::Eyy => "Eyy (Green–Lagrange strain)",
            Component::Exy => "Exy (Green–Lagrange strain, tensor shear)",
            Component::HenckyXx => "Hxx (Hencky strain)",
            Component::HenckyYy => "Hyy (Hencky strain)",
            Component::HenckyXy => "Hxy (Hencky strain, tensor shear)",
            Component::Eps1 => "ε1 (major principal small strain)",
            Component::Eps2 => "ε2 (minor principal small strain)",
            Component::EpsAngle => "θε (principal direction of small strain)",
            Component::EpsMaxShear => "max in-plane shear (small strain)",
            Component::E1 => "E1 (major principal Green–Lagrange strain)",
            Component::E2 => "E2 (minor principal Green–Lagrange strain)",
            Component::EAngle => "θE (principal direction of Green–Lagrange strain)",
            Component::EMaxShear => "max in-plane shear (Green–Lagrange strain)",
            Component::J => "J (area ratio, det F)",
            Component::Rotation => "rigid rotation (polar decomposition F = RU)",
            Component::H1 => "H1 (major principal Hencky strain)",
            Component::H2 => "H2 (minor principal Hencky strain)",
            Component::HAngle => "θH (principal direction of Hencky strain)",
            Component::HMaxShear => "max in-plane shear (Hencky strain)",
        }
    }

    /// The Python Strain Seer's name for the three components it reported.
    pub fn legacy_name(self) -> Option<&'static str> {
        match self {
            Component::EpsXx => Some("x_axis"),
            Component::EpsYy => Some("y_axis"),
            Component::EpsXy => Some("shear"),
            _ => None,
        }
    }

    /// Unit of the value: `""` for strains and J (dimensionless), `"°"` for angles.
    pub fn unit(self) -> &'static str {
        if self.is_angle() { "°" } else { "" }
    }

    /// True for the two principal angles and the rotation (degrees).
    pub fn is_angle(self) -> bool {
        matches!(
            self,
            Component::EpsAngle | Component::EAngle | Component::HAngle | Component::Rotation
        )
    }

    /// This component's value in `m`.
    pub fn value(self, m: &StrainMeasures) -> f64 {
        match self {
            Component::EpsXx => m.small.xx,
            Component::EpsYy => m.small.yy,
            Component::EpsXy => m.small.xy,
            Component::GammaXy => 2.0 * m.small.xy,
            Component::Exx => m.green.xx,
            Component::Eyy => m.green.yy,
            Component::Exy => m.green.xy,
            Component::HenckyXx => m.hencky.xx,
            Component::HenckyYy => m.hencky.yy,
            Component::HenckyXy => m.hencky.xy,
            Component::Eps1 => m.small_principal.e1,
            Component::Eps2 => m.small_principal.e2,
            Component::EpsAngle => m.small_principal.angle_deg,
            Component::EpsMaxShear => m.small_principal.max_shear,
            Component::E1 => m.green_principal.e1,
            Component::E2 => m.green_principal.e2,
            Component::EAngle => m.green_principal.angle_deg,
            Component::EMaxShear => m.green_principal.max_shear,
            Component::J => m.j,
            Component::Rotation => m.rotation_deg,
            Component::H1 => m.hencky_principal.e1,
            Component::H2 => m.hencky_principal.e2,
            Component::HAngle => m.hencky_principal.angle_deg,
            Component::HMaxShear => m.hencky_principal.max_shear,
        }
    }
}

impl fmt::Display for Component {
    /// Writes the [`label`](Component::label).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
