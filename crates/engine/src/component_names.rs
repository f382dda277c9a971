//! The names users write for strain components, read in one place for the command line, the web
//! API and the UI: each component's key (`eps_xx`, `gamma_xy`, …, see [`Component::key`]), the
//! Python tool's names for the default three (`x_axis`, `y_axis`, `shear`), and in lists the word
//! `all` for every component.

use crate::strain::Component;
use std::fmt;
use std::str::FromStr;

/// The word that stands for every component in a list (any case).
pub const ALL_COMPONENTS: &str = "all";

/// A name that is no component. Its message lists the accepted keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownComponent {
    name: String,
}

impl UnknownComponent {
    /// The name as written.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for UnknownComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown component '{}'; known: ", self.name)?;
        for component in Component::ALL {
            write!(f, "{}, ", component.key())?;
        }
        write!(f, "{ALL_COMPONENTS}")
    }
}

impl std::error::Error for UnknownComponent {}

/// A key (exact, as [`Component::key`]) or one of the Python tool's names (`x_axis`, `y_axis`,
/// `shear`). `all` is a list, not a component: see [`Component::parse_list`].
impl FromStr for Component {
    type Err = UnknownComponent;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Component::from_key(name)
            .or_else(|| Component::from_legacy_name(name))
            .ok_or_else(|| UnknownComponent {
                name: name.to_owned(),
            })
    }
}

impl Component {
    /// Components named in a list: each name trimmed, empty ones skipped, [`ALL_COMPONENTS`]
    /// (any case) standing for every component; in the order first named, without repeats.
    /// An empty list gives an empty selection (the caller decides what that means).
    pub fn parse_list<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Component>, UnknownComponent> {
        let mut components = Vec::new();
        for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
            let named = if name.eq_ignore_ascii_case(ALL_COMPONENTS) {
                Component::ALL.to_vec()
            } else {
                vec![name.parse()?]
            };
            for component in named {
                if !components.contains(&component) {
                    components.push(component);
                }
            }
        }
        Ok(components)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses_to_its_component() {
        for component in Component::ALL {
            assert_eq!(component.key().parse::<Component>(), Ok(component));
        }
    }

    #[test]
    fn names_table() {
        use Component::*;
        let table: [(&str, Result<Component, ()>); 12] = [
            ("eps_xx", Ok(EpsXx)),
            ("gamma_xy", Ok(GammaXy)),
            ("hencky_xy", Ok(HenckyXy)),
            ("h_max_shear", Ok(HMaxShear)),
            ("x_axis", Ok(EpsXx)),
            ("y_axis", Ok(EpsYy)),
            ("shear", Ok(EpsXy)),
            ("EPS_XX", Err(())),
            (" eps_xx", Err(())),
            ("all", Err(())),
            ("strain", Err(())),
            ("", Err(())),
        ];
        for (name, expected) in table {
            assert_eq!(
                name.parse::<Component>().map_err(|_| ()),
                expected,
                "{name:?}"
            );
        }
    }

    #[test]
    fn lists_table() {
        use Component::*;
        let table: [(&str, Vec<Component>); 7] = [
            ("", vec![]),
            (" , ,", vec![]),
            ("exx,shear,exx", vec![Exx, EpsXy]),
            (" eps_yy , x_axis ", vec![EpsYy, EpsXx]),
            ("all", Component::ALL.to_vec()),
            ("ALL", Component::ALL.to_vec()),
            ("j,all", {
                let mut v = vec![J];
                v.extend(Component::ALL.iter().filter(|&&c| c != J));
                v
            }),
        ];
        for (list, expected) in table {
            assert_eq!(
                Component::parse_list(list.split(',')),
                Ok(expected),
                "{list:?}"
            );
        }
    }

    #[test]
    fn an_unknown_name_is_named_with_the_known_ones() {
        let err = Component::parse_list(["eps_xx", "nope"]).unwrap_err();
        assert_eq!(err.name(), "nope");
        let message = err.to_string();
        assert!(message.starts_with("unknown component 'nope'; known: eps_xx, eps_yy,"));
        assert!(message.ends_with("h_max_shear, all"), "{message}");
    }
}
