//! The strain measures as users choose them (small strain, Green–Lagrange, Hencky and the
//! principal values of each), which components each has, and where each component's value sits
//! in a serialised [`StrainMeasures`](crate::StrainMeasures). One definition, read by the
//! analysis tables, the web API and (through it) the UI.

use crate::strain::Component;

/// A strain measure: a group of components shown together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    Small,
    Green,
    Hencky,
    SmallPrincipal,
    GreenPrincipal,
    HenckyPrincipal,
}

impl Measure {
    /// Every measure, in the order offered.
    pub const ALL: [Measure; 6] = [
        Measure::Small,
        Measure::Green,
        Measure::Hencky,
        Measure::SmallPrincipal,
        Measure::GreenPrincipal,
        Measure::HenckyPrincipal,
    ];

    /// Stable key: the field of a serialised `StrainMeasures` that holds this measure's values.
    pub fn key(self) -> &'static str {
        match self {
            Measure::Small => "small",
            Measure::Green => "green",
            Measure::Hencky => "hencky",
            Measure::SmallPrincipal => "small_principal",
            Measure::GreenPrincipal => "green_principal",
            Measure::HenckyPrincipal => "hencky_principal",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Measure::Small => "Small strain ε",
            Measure::Green => "Green–Lagrange E",
            Measure::Hencky => "Hencky (logarithmic) H",
            Measure::SmallPrincipal => "Principal, small strain",
            Measure::GreenPrincipal => "Principal, Green–Lagrange",
            Measure::HenckyPrincipal => "Principal, Hencky",
        }
    }

    /// The components of this measure, in table order.
    pub fn components(self) -> &'static [Component] {
        use Component::*;
        match self {
            Measure::Small => &[EpsXx, EpsYy, EpsXy],
            Measure::Green => &[Exx, Eyy, Exy],
            Measure::Hencky => &[HenckyXx, HenckyYy, HenckyXy],
            Measure::SmallPrincipal => &[Eps1, Eps2, EpsAngle, EpsMaxShear],
            Measure::GreenPrincipal => &[E1, E2, EAngle, EMaxShear],
            Measure::HenckyPrincipal => &[H1, H2, HAngle, HMaxShear],
        }
    }
}

impl Component {
    /// The measure this component belongs to; `None` for γxy (derived from εxy), J and the
    /// rotation.
    pub fn measure(self) -> Option<Measure> {
        Measure::ALL
            .into_iter()
            .find(|m| m.components().contains(&self))
    }

    /// Where the value sits in a serialised `StrainMeasures`: `[measure key, field]`, e.g.
    /// `["small", "xx"]` or `["green_principal", "angle_deg"]`; `None` outside a measure.
    pub fn field(self) -> Option<[&'static str; 2]> {
        let measure = self.measure()?;
        let index = measure.components().iter().position(|&c| c == self)?;
        let fields: &[&'static str] = if measure.components().len() == 3 {
            &["xx", "yy", "xy"]
        } else {
            &["e1", "e2", "angle_deg", "max_shear"]
        };
        Some([measure.key(), fields[index]])
    }

    /// The symbol as written in tables: letter and subscript, e.g. `("ε", "xx")`, `("θ", "E")`,
    /// `("J", "")`.
    pub fn symbol(self) -> (&'static str, &'static str) {
        use Component::*;
        match self {
            EpsXx => ("ε", "xx"),
            EpsYy => ("ε", "yy"),
            EpsXy => ("ε", "xy"),
            GammaXy => ("γ", "xy"),
            Exx => ("E", "xx"),
            Eyy => ("E", "yy"),
            Exy => ("E", "xy"),
            HenckyXx => ("H", "xx"),
            HenckyYy => ("H", "yy"),
            HenckyXy => ("H", "xy"),
            Eps1 => ("ε", "1"),
            Eps2 => ("ε", "2"),
            EpsAngle => ("θ", "ε"),
            EpsMaxShear => ("γ", "max"),
            E1 => ("E", "1"),
            E2 => ("E", "2"),
            EAngle => ("θ", "E"),
            EMaxShear => ("γ", "max"),
            J => ("J", ""),
            Rotation => ("ω", ""),
            H1 => ("H", "1"),
            H2 => ("H", "2"),
            HAngle => ("θ", "H"),
            HMaxShear => ("γ", "max"),
        }
    }

    /// What the component is, without its symbol: the [`label`](Component::label)'s words in
    /// parentheses when the label starts with the symbol (`"εxx (small strain)"` → `"small
    /// strain"`), else the whole label (`"max in-plane shear (small strain)"`).
    pub fn description(self) -> &'static str {
        let label = self.label();
        let (letter, sub) = self.symbol();
        let named = label
            .strip_prefix(letter)
            .and_then(|rest| rest.strip_prefix(sub))
            .and_then(|rest| rest.strip_prefix(" ("))
            .and_then(|rest| rest.strip_suffix(')'));
        named.unwrap_or(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strain::StrainMeasures;

    #[test]
    fn each_measure_component_reads_its_field() {
        let mut m = StrainMeasures::default();
        let values = serde_json::to_value(m).unwrap();
        assert!(values.is_object());
        m.small.xy = 0.25;
        m.green_principal.angle_deg = 12.0;
        m.hencky_principal.max_shear = 0.5;
        let json = serde_json::to_value(m).unwrap();
        for measure in Measure::ALL {
            for &component in measure.components() {
                let [group, field] = component.field().unwrap();
                assert_eq!(group, measure.key());
                let stored = json[group][field].as_f64().unwrap();
                assert_eq!(stored, component.value(&m), "{component:?}");
            }
        }
    }

    #[test]
    fn components_outside_measures() {
        for c in [Component::GammaXy, Component::J, Component::Rotation] {
            assert_eq!((c.measure(), c.field()), (None, None));
        }
        let in_measures: usize = Measure::ALL.iter().map(|m| m.components().len()).sum();
        assert_eq!(in_measures + 3, Component::ALL.len());
    }

    #[test]
    fn descriptions_table() {
        let table = [
            (Component::EpsXx, "small strain"),
            (Component::EpsXy, "small strain, tensor shear"),
            (Component::GammaXy, "engineering shear strain, 2εxy"),
            (Component::HenckyYy, "Hencky strain"),
            (Component::E1, "major principal Green–Lagrange strain"),
            (
                Component::EAngle,
                "principal direction of Green–Lagrange strain",
            ),
            (Component::EpsMaxShear, "max in-plane shear (small strain)"),
            (Component::J, "area ratio, det F"),
            (
                Component::Rotation,
                "rigid rotation (polar decomposition F = RU)",
            ),
        ];
        for (component, description) in table {
            assert_eq!(component.description(), description, "{component:?}");
        }
        for c in Component::ALL {
            assert!(!c.description().is_empty());
        }
    }
}
