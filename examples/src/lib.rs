//! Shared helpers for the examples, and the extension implementations they plug in (each one
//! passes its trait's laws in `examples/tests/`).
//!
//! - [`bzip2_codec::Bzip2Codec`]: bzip2, a codec strata does not ship, as a
//!   [`strata::codec::Codec`] (`examples/custom_codec.rs`).
//! - [`venue_first::VenueFirst`]: a venue-first layout as a [`strata::layout::Naming`], named
//!   from TOML (`examples/custom_naming.rs`).
//! - [`licence_quota::LicenceQuota`]: a vendor licence's daily allowance as a
//!   [`strata::policy::QuotaPolicy`] (`examples/custom_quota.rs`).
//! - [`max_trade_size::MaxTradeSize`], [`event_count_seal::EventCountSeal`],
//!   [`books_to_archive::BooksToArchive`]: an integrity policy, a seal schedule and a tier
//!   policy of one's own, named from `strata.toml` ([`custom_policies`],
//!   `examples/custom_policies.rs`).
//! - [`data`]: the committed cut of a Binance capture the examples run on.
//! - [`feed`]: a TCP feed service that acknowledges each batch once it is durable, over
//!   [`strata::service::AsyncWriter`] (`examples/tokio_feed.rs`).
//! - [`throttle::Throttled`]: a bandwidth-limiting decorator over any
//!   [`strata::backend::Backend`] (`examples/custom_backend.rs`).

pub mod books_to_archive;
pub mod bzip2_codec;
pub mod custom_policies;
pub mod data;
pub mod event_count_seal;
pub mod feed;
pub mod licence_quota;
pub mod max_trade_size;
pub mod throttle;
pub mod venue_first;
