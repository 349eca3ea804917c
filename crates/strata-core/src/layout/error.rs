//! The one error type of the layout module.

use super::Dimension;

/// Why a layout cannot be built, or a key rendered, or a path parsed.
///
/// Every variant names what the user has to look at: the config key, the path and the segment
/// of it that failed, or the field the partition key lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// A partitioning with no dimensions.
    #[error(
        "a partitioning needs at least one dimension \
         (from: date, symbol, event_type, source, asset_class, exchange)"
    )]
    EmptyPartitioning,

    /// A partitioning that lists a dimension twice.
    #[error("dimension `{dimension}` appears more than once in the partitioning; list each once")]
    DuplicateDimension {
        /// The repeated dimension.
        dimension: Dimension,
    },

    /// Layout settings that contradict each other or are out of range.
    #[error("invalid layout setting `{key}`: {reason}")]
    InvalidConfig {
        /// The setting at fault, relative to the layout section (`session_split.regular_open`).
        key: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// `naming` names neither a built-in convention nor a registered naming extension.
    #[error(
        "no naming `{name}`: the built-in conventions are flat by_symbol by_date by_type \
         by_source by_asset_class hierarchical canonical, and the registered extensions are: \
         {registered}"
    )]
    UnknownNaming {
        /// The name config gave.
        name: String,
        /// The extensions registered, space-separated (`none` when none is).
        registered: String,
    },

    /// A naming extension cannot be registered or refuses its settings.
    #[error("naming extension `{name}`: {reason}")]
    Extension {
        /// The extension's name.
        name: String,
        /// What is wrong.
        reason: String,
    },

    /// A partition key lacks a field the layout writes into its paths.
    #[error("cannot render a path for layout `{layout}`: the partition key has no {field}")]
    MissingField {
        /// The layout, as its [`Display`](std::fmt::Display) form.
        layout: String,
        /// The missing field (`symbol`, `source`, `period`, `session`, …).
        field: &'static str,
    },

    /// A period that cannot be written as date text, or date text that is not a period.
    #[error("`{text}` is not a period: {reason}")]
    InvalidPeriod {
        /// The period or the text.
        text: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A path segment that is not the escaped form of any value.
    #[error("`{segment}` is not an escaped value: {reason}")]
    InvalidEscape {
        /// The segment.
        segment: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A path whose segment does not fit the layout.
    #[error("`{path}` is not a path of layout `{layout}`: segment `{segment}`: {reason}")]
    InvalidPath {
        /// The whole path as given.
        path: String,
        /// The layout, as its [`Display`](std::fmt::Display) form.
        layout: String,
        /// The segment that failed (a value split over several levels is shown joined by `/`).
        segment: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A path with more or fewer levels than the layout writes.
    #[error("`{path}` has {found} levels, but layout `{layout}` writes `{template}`")]
    WrongDepth {
        /// The whole path as given.
        path: String,
        /// The layout, as its [`Display`](std::fmt::Display) form.
        layout: String,
        /// The layout's path template ([`Layout::template`](super::Layout::template)).
        template: String,
        /// Levels found, after joining values split over several levels.
        found: usize,
    },
}
