//! The error type of strata-core.

use crate::{layout, ConfigError};

/// The error type of strata-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A config file cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A path or key does not fit the layout.
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
}

/// strata-core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
