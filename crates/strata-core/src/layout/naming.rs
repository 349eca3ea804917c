//! The naming extension point (EXT-1): a [`Naming`] turns partition keys into relative paths and
//! back. [`Layout`] — the eight conventions and plain or Hive partitioning of the `[layout]`
//! config section — is the built-in; a [`NamingRegistry`] lets a config file name others.
//!
//! Any implementation proves itself with the naming laws (`strata_core::laws::naming`, feature
//! `laws`): parse inverts render, paths stay under the root, every derived name fits in 255 bytes,
//! and hostile keys are refused or escaped.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use strata_model::{AssetClass, Event, Timestamp};

use super::{Granularity, GranularityChoice, Layout, LayoutConfig, LayoutError, PartitionKey};

/// How the files of a partition are named: partition key ↔ relative path stem (`/`-separated,
/// no extension; the writer adds the root and `.jsonl`, `.jsonl.zst`, …).
///
/// Decisions are pure: no I/O, no clock. The contract the laws check:
/// `parse(render(k)) == project(k)` for every key that renders, every rendered path is relative,
/// has no empty, `.` or `..` component and no component over 255 bytes (with any of
/// [`KNOWN_EXTENSIONS`](super::KNOWN_EXTENSIONS) appended), and `render` never panics.
pub trait Naming: fmt::Debug + Send + Sync {
    /// The name config selects it by (`by_symbol`, `hive(source/date)`, or the name an extension
    /// was registered under).
    fn name(&self) -> String;

    /// The path shape in words, like `{symbol}/{type}/{date}` (shown by `strata config`).
    fn template(&self) -> String;

    /// How much time one file covers when no event rate is known.
    fn granularity(&self) -> Granularity;

    /// The granularity to write a partition with, given its observed events per day, and why.
    /// The default: always [`granularity`](Naming::granularity).
    fn granularity_for(&self, observed_events_per_day: Option<u64>) -> GranularityChoice {
        let _ = observed_events_per_day;
        GranularityChoice {
            granularity: self.granularity(),
            reason: format!("fixed granularity {} ({})", self.granularity(), self.name()),
        }
    }

    /// The full key of `event` (every field this naming may use), at `granularity`.
    fn key_for_event(
        &self,
        event: &Event,
        asset_class: Option<AssetClass>,
        granularity: Granularity,
    ) -> PartitionKey;

    /// The part of `key` that this naming's paths encode; what [`parse`](Naming::parse) gives
    /// back for the path of `key`.
    fn project(&self, key: &PartitionKey) -> PartitionKey;

    /// The relative path stem of `key`; an error names a missing or unusable field.
    fn render(&self, key: &PartitionKey) -> Result<String, LayoutError>;

    /// The key a path stem (optionally with a known extension) stands for.
    fn parse(&self, path: &str) -> Result<PartitionKey, LayoutError>;

    /// The UTC instants a file of `key` may hold (half-open); `None` for all time.
    fn time_range(&self, key: &PartitionKey) -> Option<Range<Timestamp>>;
}

impl Naming for Layout {
    fn name(&self) -> String {
        self.to_string()
    }

    fn template(&self) -> String {
        Layout::template(self)
    }

    fn granularity(&self) -> Granularity {
        Layout::granularity(self)
    }

    fn granularity_for(&self, observed_events_per_day: Option<u64>) -> GranularityChoice {
        Layout::granularity_for(self, observed_events_per_day)
    }

    fn key_for_event(
        &self,
        event: &Event,
        asset_class: Option<AssetClass>,
        granularity: Granularity,
    ) -> PartitionKey {
        Layout::key_for_event(self, event, asset_class, granularity)
    }

    fn project(&self, key: &PartitionKey) -> PartitionKey {
        Layout::project(self, key)
    }

    fn render(&self, key: &PartitionKey) -> Result<String, LayoutError> {
        Layout::render(self, key)
    }

    fn parse(&self, path: &str) -> Result<PartitionKey, LayoutError> {
        Layout::parse(self, path)
    }

    fn time_range(&self, key: &PartitionKey) -> Option<Range<Timestamp>> {
        Layout::time_range(self, key)
    }
}

/// Builds a registered naming from the `[layout]` section that names it (its granularity and
/// the rest of the section are the factory's to honour or refuse).
pub type NamingFactory =
    Arc<dyn Fn(&LayoutConfig) -> Result<Arc<dyn Naming>, LayoutError> + Send + Sync>;

/// Namings a config file can select by name: `[layout] naming = "venue_first"` picks the one
/// registered as `venue_first`. The built-in conventions need no registration.
#[derive(Clone, Default)]
pub struct NamingRegistry {
    factories: BTreeMap<String, NamingFactory>,
}

impl fmt::Debug for NamingRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamingRegistry")
            .field("registered", &self.factories.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl NamingRegistry {
    /// A registry with no extensions (the built-ins are always there).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `factory` under `name`. Refuses a built-in convention's name, a name already
    /// registered, and a name that is not lowercase `a-z`, `0-9` and `_`.
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(&LayoutConfig) -> Result<Arc<dyn Naming>, LayoutError> + Send + Sync + 'static,
    ) -> Result<&mut Self, LayoutError> {
        let refuse = |reason: String| LayoutError::Extension {
            name: name.to_string(),
            reason,
        };
        if !crate::extension::is_extension_name(name) {
            return Err(refuse(
                "a naming's name is lowercase letters, digits and `_`".into(),
            ));
        }
        if name.parse::<super::NamingConvention>().is_ok() {
            return Err(refuse("that is the name of a built-in convention".into()));
        }
        if self.factories.contains_key(name) {
            return Err(refuse("a naming of that name is registered already".into()));
        }
        self.factories.insert(name.to_string(), Arc::new(factory));
        Ok(self)
    }

    /// The names registered, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }

    /// The naming `config` describes: a built-in [`Layout`], or the registered extension it
    /// names. An unknown name is an error listing the built-ins and the registered names.
    pub fn resolve(&self, config: &LayoutConfig) -> Result<Arc<dyn Naming>, LayoutError> {
        match config.extension() {
            None => Ok(Arc::new(config.resolve()?)),
            Some(name) => match self.factories.get(name) {
                Some(factory) => factory(config),
                None => Err(LayoutError::UnknownNaming {
                    name: name.to_string(),
                    registered: if self.factories.is_empty() {
                        "none".into()
                    } else {
                        self.names().collect::<Vec<_>>().join(" ")
                    },
                }),
            },
        }
    }
}
