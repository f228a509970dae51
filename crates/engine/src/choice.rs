//! Closed sets of named choices: an output format, an upstream, a block target. Each is one
//! table (`ALL`) that the command line lists, parses and documents; adding a choice is adding
//! one entry. This module owns only the trait; it depends on nothing else in the crate.

/// A closed set of named choices, listed in [`Choice::ALL`] order.
pub trait Choice: Copy + Eq + 'static {
    /// Every choice, in the order they are listed to the user.
    const ALL: &'static [Self];
    /// The name on the command line and in output.
    fn name(self) -> &'static str;
    /// One line of help.
    fn help(self) -> &'static str;
    /// The choice of this name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// Implements [`Choice`] and `Display` for an enum from one table of
/// `Variant => ("name", "help")` rows.
macro_rules! choice_table {
    ($ty:ty { $($variant:ident => ($name:literal, $help:literal)),+ $(,)? }) => {
        impl $crate::choice::Choice for $ty {
            const ALL: &'static [Self] = &[$(<$ty>::$variant),+];
            fn name(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),+ }
            }
            fn help(self) -> &'static str {
                match self { $(<$ty>::$variant => $help),+ }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }
    };
}
pub(crate) use choice_table;
