//! What `examples/custom_policies.rs` puts together: the `strata.toml` that names the example
//! integrity policy, seal schedule and tier policy, and the registrations that let it.

use strata::builder::ArchiveBuilder;

use crate::books_to_archive::BooksToArchive;
use crate::event_count_seal::EventCountSeal;
use crate::max_trade_size::MaxTradeSize;

/// A `strata.toml` that selects the three by name, with their settings.
pub const CONFIG_TOML: &str = r#"archive.root = "."

[extensions]
integrity = "max_trade_size"
seal_schedule = "event_count"
tier_policy = "books_to_archive"

[extensions.settings.max_trade_size]
max_size = "0.5"

[extensions.settings.event_count]
max_events = 1000
max_age_secs = 3600

[extensions.settings.books_to_archive]
hot_days = 7
"#;

/// `builder` with the three factories registered under the names [`CONFIG_TOML`] uses.
pub fn register(builder: ArchiveBuilder) -> strata::Result<ArchiveBuilder> {
    builder
        .register_integrity("max_trade_size", MaxTradeSize::from_settings)?
        .register_seal_schedule("event_count", EventCountSeal::from_settings)?
        .register_tier_policy("books_to_archive", BooksToArchive::from_settings)
}
