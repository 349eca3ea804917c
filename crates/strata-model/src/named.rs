//! Fieldless enums with stable names: [`named_enum!`](crate::named_enum) and the error of their
//! `FromStr`, [`UnknownName`].
//!
//! Every closed set of names strata writes into JSON, paths, config and the command line (event
//! kinds, tiers, naming conventions, granularities, …) is declared once with the macro, so its
//! list of variants (`ALL`), its names (`as_str`, `Display`, `FromStr`, serde) and the names an
//! error lists cannot drift apart.

/// A name that is not one of a fixed set (event kind, asset class, side, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`; expected one of: {expected}")]
pub struct UnknownName {
    /// What was being named ("event kind", "asset class", …).
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The accepted names, space separated, in declaration order.
    pub expected: &'static str,
}

/// Declares a fieldless enum whose variants have stable names, and what goes with them.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// strata_model::named_enum! {
///     /// How ripe a fruit is.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
///     pub enum Ripeness [what = "ripeness", serde] {
///         /// Not yet.
///         Green = "green",
///         /// Just right.
///         #[default]
///         Ripe = "ripe",
///         /// Too late.
///         Overripe = "over_ripe",
///     }
/// }
///
/// assert_eq!(Ripeness::ALL, &[Ripeness::Green, Ripeness::Ripe, Ripeness::Overripe]);
/// assert_eq!(Ripeness::Overripe.as_str(), "over_ripe");
/// assert_eq!(Ripeness::Overripe.to_string(), "over_ripe");
/// assert_eq!("ripe".parse::<Ripeness>()?, Ripeness::Ripe);
/// assert_eq!(serde_json::to_string(&Ripeness::Overripe)?, r#""over_ripe""#);
/// assert_eq!(
///     "mushy".parse::<Ripeness>().unwrap_err().to_string(),
///     "unknown ripeness `mushy`; expected one of: green ripe over_ripe"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The enum is emitted as written (its attributes, derives and the doc comment and attributes
/// of every variant), followed by:
///
/// - `pub const ALL: &'static [Self]`: every variant, in declaration order;
/// - `pub const fn as_str(self) -> &'static str`: the variant's name, the literal after `=`;
/// - `Display`, which writes that name.
///
/// The options in brackets after the enum's name add:
///
/// - `what = "…"`: `FromStr`, reading exactly the names, with [`UnknownName`] as its error:
///   `what` is what the error calls the value ("tier", "event kind") and `expected` lists every
///   name, space separated. Leave it out to write a `FromStr` of your own (a different error
///   type, or names read more leniently).
/// - `serde`: `#[serde(rename = "…")]` on every variant, so serde's names are `as_str`'s by
///   construction. The enum must derive `Serialize` or `Deserialize` (or both); a hand-written
///   serde impl works too when it goes through `as_str`/`FromStr`.
///
/// The four forms: `[what = "…", serde]`, `[what = "…"]`, `[serde]`, and no brackets.
#[macro_export]
macro_rules! named_enum {
    // The enum, `ALL`, `as_str` and `Display`. `$serde` is `all` (serde names on) or `any` (off),
    // a `cfg_attr` predicate, so that one transcription serves both.
    (@enum [$serde:ident]
        $(#[$meta:meta])*
        $vis:vis $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $(
                $(#[$vmeta])*
                #[cfg_attr($serde(), serde(rename = $text))]
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant's stable name: what `Display` writes, and what `FromStr` (and serde,
            /// where the enum has it) reads.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    (@from_str $name:ident, $what:literal {
        $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
    }) => {
        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> ::std::result::Result<Self, $crate::UnknownName> {
                match s {
                    $($text => ::std::result::Result::Ok($name::$variant),)+
                    _ => ::std::result::Result::Err($crate::UnknownName {
                        what: $what,
                        name: ::std::string::ToString::to_string(s),
                        expected: $crate::named_enum!(@expected $($text)+),
                    }),
                }
            }
        }
    };
    (@expected $first:literal $($rest:literal)*) => {
        ::std::concat!($first $(, " ", $rest)*)
    };

    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident [what = $what:literal, serde] { $($body:tt)+ }
    ) => {
        $crate::named_enum!(@enum [all] $(#[$meta])* $vis $name { $($body)+ });
        $crate::named_enum!(@from_str $name, $what { $($body)+ });
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident [what = $what:literal] { $($body:tt)+ }
    ) => {
        $crate::named_enum!(@enum [any] $(#[$meta])* $vis $name { $($body)+ });
        $crate::named_enum!(@from_str $name, $what { $($body)+ });
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident [serde] { $($body:tt)+ }
    ) => {
        $crate::named_enum!(@enum [all] $(#[$meta])* $vis $name { $($body)+ });
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($body:tt)+ }
    ) => {
        $crate::named_enum!(@enum [any] $(#[$meta])* $vis $name { $($body)+ });
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde::{Deserialize, Serialize};

    crate::named_enum! {
        /// With serde names and the generated `FromStr`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        enum Both [what = "thing", serde] {
            /// One.
            OneThing = "one",
            /// Two.
            TwoThings = "two_things",
        }
    }

    crate::named_enum! {
        /// Neither: `ALL`, `as_str` and `Display` only.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Neither {
            /// A.
            A = "a",
        }
    }

    #[test]
    fn names_round_trip_through_every_form() {
        for &v in Both::ALL {
            assert_eq!(v.as_str().parse::<Both>().unwrap(), v);
            assert_eq!(v.to_string(), v.as_str());
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<Both>(&json).unwrap(), v);
        }
        assert_eq!(Neither::ALL, &[Neither::A]);
        assert_eq!(Neither::A.to_string(), "a");
    }

    #[test]
    fn unknown_names_list_every_name_once() {
        let err = "three".parse::<Both>().unwrap_err();
        assert_eq!(err.what, "thing");
        assert_eq!(err.name, "three");
        assert_eq!(err.expected, "one two_things");
        assert_eq!(
            err.to_string(),
            "unknown thing `three`; expected one of: one two_things"
        );
    }
}
