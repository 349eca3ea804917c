//! Extensions a config file names (EXT-3). A program that embeds strata registers its own
//! [`IntegrityPolicy`](crate::policy::IntegrityPolicy), [`QuotaPolicy`](crate::policy::QuotaPolicy),
//! [`SealSchedule`](crate::policy::SealSchedule) or [`TierPolicy`](crate::policy::TierPolicy)
//! under a name; the `[extensions]` section of `strata.toml` then selects them, with settings
//! of their own:
//!
//! ```toml
//! [extensions]
//! integrity = "no_odd_lots"      # replaces the [integrity] checks
//! quotas = ["desk_budget"]       # added to the [[quotas]] rules
//! seal_schedule = "on_the_hour"  # replaces storage.max_file_bytes / max_file_age_secs
//! tier_policy = "by_desk"        # replaces the retention table and classification
//!
//! [extensions.settings.desk_budget]
//! max_bytes = 1_000_000
//! ```
//!
//! A name the program did not register is an error naming the key, the value and the names it
//! knows — a config file cannot quietly fall back to the built-ins.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The `[extensions]` section: which registered extensions fill which slot, and their settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionChoices {
    /// A registered integrity policy, instead of the `[integrity]` checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// Registered quotas, checked after the `[[quotas]]` rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<String>,
    /// A registered seal schedule, instead of `storage.max_file_bytes` and
    /// `storage.max_file_age_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_schedule: Option<String>,
    /// A registered tier policy, instead of the retention table and classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_policy: Option<String>,
    /// `[extensions.settings.<name>]`: what the factory registered as `<name>` is given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
}

impl ExtensionChoices {
    /// Whether the section names nothing (it is then left out of a written config).
    pub fn is_empty(&self) -> bool {
        self == &ExtensionChoices::default()
    }

    /// The settings of `name`: its `[extensions.settings.<name>]` table, or JSON `null`.
    pub fn settings_of(&self, name: &str) -> &serde_json::Value {
        static NULL: serde_json::Value = serde_json::Value::Null;
        self.settings.get(name).unwrap_or(&NULL)
    }

    /// Every `(key, name)` the section names, as `("extensions.quotas", "desk_budget")`.
    pub fn named(&self) -> Vec<(Slot, &str)> {
        let mut named = Vec::new();
        named.extend(self.integrity.as_deref().map(|n| (Slot::Integrity, n)));
        named.extend(self.quotas.iter().map(|n| (Slot::Quotas, n.as_str())));
        named.extend(
            self.seal_schedule
                .as_deref()
                .map(|n| (Slot::SealSchedule, n)),
        );
        named.extend(self.tier_policy.as_deref().map(|n| (Slot::TierPolicy, n)));
        named
    }
}

/// An extension point a config file can fill by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `extensions.integrity`.
    Integrity,
    /// `extensions.quotas`.
    Quotas,
    /// `extensions.seal_schedule`.
    SealSchedule,
    /// `extensions.tier_policy`.
    TierPolicy,
}

impl Slot {
    /// The config key: `extensions.integrity`, ….
    pub fn key(self) -> &'static str {
        match self {
            Slot::Integrity => "extensions.integrity",
            Slot::Quotas => "extensions.quotas",
            Slot::SealSchedule => "extensions.seal_schedule",
            Slot::TierPolicy => "extensions.tier_policy",
        }
    }

    /// The builder call that registers one: `register_integrity`, ….
    pub fn register_call(self) -> &'static str {
        match self {
            Slot::Integrity => "register_integrity",
            Slot::Quotas => "register_quota",
            Slot::SealSchedule => "register_seal_schedule",
            Slot::TierPolicy => "register_tier_policy",
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why an extension cannot be registered or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// The config names an extension nobody registered.
    #[error("{slot} = \"{name}\": no extension of that name is registered (registered: {registered}); extensions are registered in code by the program that embeds strata (ArchiveBuilder::{})", slot.register_call())]
    Unknown {
        /// The slot.
        slot: Slot,
        /// The name the config gives.
        name: String,
        /// The names registered for the slot, or `none`.
        registered: String,
    },
    /// The factory refused its settings.
    #[error("{slot} = \"{name}\": cannot be built from [extensions.settings.{name}]: {reason}")]
    Build {
        /// The slot.
        slot: Slot,
        /// The extension's name.
        name: String,
        /// The factory's reason.
        reason: String,
    },
    /// The name cannot be registered.
    #[error("cannot register {slot} extension `{name}`: {reason}")]
    Refused {
        /// The slot.
        slot: Slot,
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// Whether `name` can name an extension: lowercase `a-z`, `0-9` and `_`, not empty.
pub fn is_extension_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// An extension's `[extensions.settings.<name>]`, as JSON (`serde_json::from_value` turns it
/// into a typed settings struct; [`serde_json`] is re-exported here for that).
pub type ExtensionSettings = serde_json::Value;
pub use serde_json;

/// Builds a registered extension from its `[extensions.settings.<name>]` (JSON `null` when
/// the config has none); an `Err` is the reason the settings are refused.
pub type ExtensionFactory<T> =
    Arc<dyn Fn(&ExtensionSettings) -> Result<Arc<T>, String> + Send + Sync>;

/// The extensions registered for one [`Slot`], by name.
pub struct ExtensionRegistry<T: ?Sized> {
    slot: Slot,
    factories: BTreeMap<String, ExtensionFactory<T>>,
}

impl<T: ?Sized> Clone for ExtensionRegistry<T> {
    fn clone(&self) -> Self {
        ExtensionRegistry {
            slot: self.slot,
            factories: self.factories.clone(),
        }
    }
}

impl<T: ?Sized> fmt::Debug for ExtensionRegistry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtensionRegistry")
            .field("slot", &self.slot)
            .field("registered", &self.factories.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<T: ?Sized> ExtensionRegistry<T> {
    /// An empty registry for `slot`.
    pub fn new(slot: Slot) -> Self {
        ExtensionRegistry {
            slot,
            factories: BTreeMap::new(),
        }
    }

    /// Registers `factory` under `name`; refuses a name already registered and one that is not
    /// lowercase `a-z`, `0-9` and `_`.
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(&ExtensionSettings) -> Result<Arc<T>, String> + Send + Sync + 'static,
    ) -> Result<&mut Self, ExtensionError> {
        let refuse = |reason: &str| ExtensionError::Refused {
            slot: self.slot,
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if !is_extension_name(name) {
            return Err(refuse(
                "an extension's name is lowercase letters, digits and `_`",
            ));
        }
        if self.factories.contains_key(name) {
            return Err(refuse("an extension of that name is registered already"));
        }
        self.factories.insert(name.to_string(), Arc::new(factory));
        Ok(self)
    }

    /// The names registered, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }

    /// Builds the extension registered as `name` from its settings in `choices`.
    pub fn build(&self, name: &str, choices: &ExtensionChoices) -> Result<Arc<T>, ExtensionError> {
        let factory = self
            .factories
            .get(name)
            .ok_or_else(|| ExtensionError::Unknown {
                slot: self.slot,
                name: name.to_string(),
                registered: if self.factories.is_empty() {
                    "none".into()
                } else {
                    self.names().collect::<Vec<_>>().join(" ")
                },
            })?;
        factory(choices.settings_of(name)).map_err(|reason| ExtensionError::Build {
            slot: self.slot,
            name: name.to_string(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn unknown_and_refused_names_are_errors_that_name_the_key() {
        let mut registry: ExtensionRegistry<str> = ExtensionRegistry::new(Slot::Quotas);
        registry
            .register("desk_budget", |settings| {
                settings
                    .get("label")
                    .and_then(|v| v.as_str())
                    .map(Arc::from)
                    .ok_or_else(|| "`label` (a string) is required".to_string())
            })
            .unwrap();
        let err = registry
            .register("desk_budget", |_| Ok(Arc::from("x")))
            .unwrap_err();
        assert!(err.to_string().contains("registered already"), "{err}");
        let err = registry
            .register("Desk", |_| Ok(Arc::from("x")))
            .unwrap_err();
        assert!(err.to_string().contains("lowercase"), "{err}");

        let mut choices = ExtensionChoices {
            quotas: vec!["desk_budget".into()],
            ..ExtensionChoices::default()
        };
        let err = registry.build("desk_budget", &choices).unwrap_err();
        assert_eq!(
            err.to_string(),
            "extensions.quotas = \"desk_budget\": cannot be built from \
             [extensions.settings.desk_budget]: `label` (a string) is required"
        );
        choices.settings.insert(
            "desk_budget".into(),
            serde_json::json!({ "label": "rates" }),
        );
        assert_eq!(&*registry.build("desk_budget", &choices).unwrap(), "rates");
        let err = registry.build("other", &choices).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "extensions.quotas = \"other\": no extension of that name is registered \
                 (registered: desk_budget)"
            ),
            "{err}"
        );
        assert!(err.to_string().contains("register_quota"), "{err}");
    }

    #[test]
    fn the_section_reads_from_toml_and_refuses_unknown_keys() {
        let choices: ExtensionChoices = toml::from_str(
            "integrity = \"strict\"\nquotas = [\"a\", \"b\"]\n\
             [settings.a]\nmax_bytes = 5\n",
        )
        .unwrap();
        assert_eq!(choices.integrity.as_deref(), Some("strict"));
        assert_eq!(
            choices.settings_of("a"),
            &serde_json::json!({ "max_bytes": 5 })
        );
        assert_eq!(choices.settings_of("b"), &serde_json::Value::Null);
        assert_eq!(
            choices.named(),
            vec![
                (Slot::Integrity, "strict"),
                (Slot::Quotas, "a"),
                (Slot::Quotas, "b")
            ]
        );
        let err = toml::from_str::<ExtensionChoices>("integrty = \"x\"").unwrap_err();
        assert!(err.to_string().contains("integrty"), "{err}");
    }
}
