//! The symbol registry and the source registry (MODEL-3), loaded from config.
//!
//! Both are plain serde data (`[[symbols]]` and `[[sources]]` tables in `strata.toml`); building
//! a registry checks it (no alias may name two symbols, no id may appear twice) and indexes it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::event::{AssetClass, EventKind, OptionRight, OptionStyle};
use crate::Decimal;

/// A problem in the registry data, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two symbols claim the same name or alias.
    #[error("symbols[{index}] `{symbol}`: alias `{alias}` already names symbol `{other}`")]
    DuplicateAlias {
        /// Position of the later entry in the list.
        index: usize,
        /// The later entry's canonical symbol.
        symbol: String,
        /// The clashing name.
        alias: String,
        /// The symbol that claimed it first.
        other: String,
    },
    /// Two sources share an id.
    #[error("sources[{index}]: id `{id}` is used twice")]
    DuplicateSource {
        /// Position of the later entry.
        index: usize,
        /// The id.
        id: String,
    },
    /// An empty symbol or source id.
    #[error("{what}[{index}]: the name is empty")]
    EmptyName {
        /// `symbols` or `sources`.
        what: &'static str,
        /// Position of the entry.
        index: usize,
    },
}

/// One instrument: its canonical symbol, aliases and reference identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolInfo {
    /// The canonical symbol strata stores under.
    pub symbol: String,
    /// Other names that resolve to it (`AAPL.O`, an ISIN, a vendor ticker, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Asset class.
    pub asset_class: AssetClass,
    /// Primary exchange (MIC or code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Quote currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// ISIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isin: Option<String>,
    /// FIGI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figi: Option<String>,
    /// SEDOL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sedol: Option<String>,
    /// For a futures or options contract: what the contract is (its symbol is
    /// [`Contract::symbol`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    /// For a futures contract: the contract month (`yyyymm`, `201312`) its vendor names it by,
    /// where the vendor gives it (Lean's entry names do). It is not always the expiry's month
    /// (crude oil's December contract expires in November), and Lean's readers find the contract
    /// by it, so a Lean export of futures needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_month: Option<u32>,
}

impl SymbolInfo {
    /// An entry for `symbol` of `asset_class` with nothing else known.
    pub fn new(symbol: impl Into<String>, asset_class: AssetClass) -> Self {
        SymbolInfo {
            symbol: symbol.into(),
            aliases: Vec::new(),
            asset_class,
            exchange: None,
            currency: None,
            isin: None,
            figi: None,
            sedol: None,
            contract: None,
            contract_month: None,
        }
    }
}

/// A futures or options contract: its underlying, expiry and, for options, right and strike.
///
/// Its canonical symbol ([`Contract::symbol`]) names it completely, so an event's symbol alone
/// says which contract it is ([`Contract::parse_symbol`] reads it back):
///
/// | contract | symbol |
/// |---|---|
/// | future, root `ES`, expiry 2024-03-15 | `ES-20240315` |
/// | option on `SPY`, expiry 2024-03-15, call, strike 500 | `SPY-20240315-C-500` |
/// | option on the future `ES-20240315`, expiry 2024-03-01, put, strike 4987.5 | `ES-20240315-20240301-P-4987.5` |
///
/// The parts are joined by `-`, which paths keep as it is (an `_` would be escaped in every
/// folder name); underlying roots contain no `-` (as in Lean's and most venues' tickers). The
/// strike is written without trailing zeros.
///
/// ```
/// use strata_model::{Contract, OptionRight};
///
/// let c = Contract::parse_symbol("SPY-20240315-C-500").unwrap();
/// assert_eq!((c.underlying.as_str(), c.right, c.strike.map(|s| s.to_string())),
///            ("SPY", Some(OptionRight::Call), Some("500".to_string())));
/// assert_eq!(c.symbol(), "SPY-20240315-C-500");
/// let fop = Contract::parse_symbol("ES-20240315-20240301-P-4987.5").unwrap();
/// assert_eq!(fop.underlying, "ES-20240315");
/// assert!(Contract::parse_symbol("SPY").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// The underlying: a root (`ES`, `SPY`) or, for an option on a future, the future's symbol.
    pub underlying: String,
    /// The expiry (last trading) date, as the vendor gives it.
    pub expiry: chrono::NaiveDate,
    /// Call or put (options only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<OptionRight>,
    /// Strike price (options only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strike: Option<Decimal>,
    /// Exercise style (options only, when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<OptionStyle>,
}

impl Contract {
    /// A futures contract.
    pub fn future(root: impl Into<String>, expiry: chrono::NaiveDate) -> Self {
        Contract {
            underlying: root.into(),
            expiry,
            right: None,
            strike: None,
            style: None,
        }
    }

    /// An options contract.
    pub fn option(
        underlying: impl Into<String>,
        expiry: chrono::NaiveDate,
        right: OptionRight,
        strike: Decimal,
        style: Option<OptionStyle>,
    ) -> Self {
        Contract {
            underlying: underlying.into(),
            expiry,
            right: Some(right),
            strike: Some(strike.normalized()),
            style,
        }
    }

    /// True for an option (it has a right and a strike).
    pub fn is_option(&self) -> bool {
        self.right.is_some()
    }

    /// The canonical symbol (see the table on [`Contract`]).
    pub fn symbol(&self) -> String {
        let mut out = format!("{}-{}", self.underlying, self.expiry.format("%Y%m%d"));
        if let (Some(right), Some(strike)) = (self.right, self.strike) {
            let r = match right {
                OptionRight::Call => 'C',
                OptionRight::Put => 'P',
            };
            out.push('-');
            out.push(r);
            out.push('-');
            out.push_str(&strike.normalized().to_string());
        }
        out
    }

    /// Reads a canonical contract symbol back; `None` for anything else (a plain ticker).
    /// The style is not part of the symbol and comes back as `None`.
    pub fn parse_symbol(symbol: &str) -> Option<Contract> {
        fn date(text: &str) -> Option<chrono::NaiveDate> {
            (text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| chrono::NaiveDate::parse_from_str(text, "%Y%m%d").ok())
                .flatten()
        }
        let pieces: Vec<&str> = symbol.split('-').collect();
        let n = pieces.len();
        if n >= 4 {
            let right = match pieces[n - 2] {
                "C" => Some(OptionRight::Call),
                "P" => Some(OptionRight::Put),
                _ => None,
            };
            let strike = pieces[n - 1].parse::<Decimal>().ok();
            if let (Some(right), Some(strike), Some(expiry)) = (right, strike, date(pieces[n - 3]))
            {
                let underlying = pieces[..n - 3].join("-");
                let valid = !underlying.is_empty()
                    && (n == 4 || Contract::parse_symbol(&underlying).is_some());
                if valid && strike.normalized() == strike {
                    return Some(Contract::option(underlying, expiry, right, strike, None));
                }
                return None;
            }
        }
        if n == 2 && !pieces[0].is_empty() {
            return date(pieces[1]).map(|expiry| Contract::future(pieces[0], expiry));
        }
        None
    }
}

/// The symbols strata knows, with every alias and identifier resolvable to one canonical entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolRegistry {
    symbols: Vec<SymbolInfo>,
    by_name: HashMap<String, usize>,
}

impl SymbolRegistry {
    /// Builds and checks the registry. Canonical symbols, aliases, ISIN, FIGI and SEDOL all
    /// resolve; a name claimed by two different symbols is an error.
    pub fn new(symbols: Vec<SymbolInfo>) -> Result<Self, RegistryError> {
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (index, info) in symbols.iter().enumerate() {
            if info.symbol.is_empty() {
                return Err(RegistryError::EmptyName {
                    what: "symbols",
                    index,
                });
            }
            let names = std::iter::once(&info.symbol)
                .chain(&info.aliases)
                .chain(info.isin.iter())
                .chain(info.figi.iter())
                .chain(info.sedol.iter());
            for name in names {
                match by_name.get(name) {
                    Some(&other) if other != index => {
                        return Err(RegistryError::DuplicateAlias {
                            index,
                            symbol: info.symbol.clone(),
                            alias: name.clone(),
                            other: symbols[other].symbol.clone(),
                        })
                    }
                    _ => {
                        by_name.insert(name.clone(), index);
                    }
                }
            }
        }
        Ok(SymbolRegistry { symbols, by_name })
    }

    /// Resolves a canonical symbol or any alias/identifier.
    pub fn resolve(&self, name: &str) -> Option<&SymbolInfo> {
        self.by_name.get(name).map(|&i| &self.symbols[i])
    }

    /// The canonical symbol for `name`, or `name` itself when unknown.
    pub fn canonical<'a>(&'a self, name: &'a str) -> &'a str {
        self.resolve(name).map_or(name, |s| s.symbol.as_str())
    }

    /// Every entry, in configuration order.
    pub fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// True when no symbol is registered.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}

/// Whether a source streams live or replays history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A live feed.
    Live,
    /// Historical files or a replay.
    Historical,
}

fn enabled_by_default() -> bool {
    true
}

/// One data source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInfo {
    /// Short id used in paths and events (`binance`, `lean`, `databento`).
    pub id: String,
    /// Human name.
    #[serde(default)]
    pub name: String,
    /// Live or historical.
    pub kind: SourceKind,
    /// Higher wins when sources overlap (SRC-1's HighestPriority).
    #[serde(default)]
    pub priority: i32,
    /// Asset classes it covers (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asset_classes: Vec<AssetClass>,
    /// Event kinds it provides (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_kinds: Vec<EventKind>,
    /// Disabled sources are kept in the registry but not ingested.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

/// The sources strata knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRegistry {
    sources: Vec<SourceInfo>,
    by_id: HashMap<String, usize>,
}

impl SourceRegistry {
    /// Builds and checks the registry (ids unique and non-empty).
    pub fn new(sources: Vec<SourceInfo>) -> Result<Self, RegistryError> {
        let mut by_id = HashMap::new();
        for (index, s) in sources.iter().enumerate() {
            if s.id.is_empty() {
                return Err(RegistryError::EmptyName {
                    what: "sources",
                    index,
                });
            }
            if by_id.insert(s.id.clone(), index).is_some() {
                return Err(RegistryError::DuplicateSource {
                    index,
                    id: s.id.clone(),
                });
            }
        }
        Ok(SourceRegistry { sources, by_id })
    }

    /// The source with this id.
    pub fn get(&self, id: &str) -> Option<&SourceInfo> {
        self.by_id.get(id).map(|&i| &self.sources[i])
    }

    /// Every source, in configuration order.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    /// Enabled sources offering `kind`, highest priority first.
    pub fn providers(&self, kind: EventKind) -> Vec<&SourceInfo> {
        let mut out: Vec<&SourceInfo> = self
            .sources
            .iter()
            .filter(|s| s.enabled && (s.event_kinds.is_empty() || s.event_kinds.contains(&kind)))
            .collect();
        out.sort_by_key(|s| std::cmp::Reverse(s.priority));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aapl() -> SymbolInfo {
        SymbolInfo {
            symbol: "AAPL".into(),
            aliases: vec!["AAPL.O".into(), "AAPL US Equity".into()],
            asset_class: AssetClass::Equity,
            exchange: Some("XNAS".into()),
            currency: Some("USD".into()),
            isin: Some("US0378331005".into()),
            figi: Some("BBG000B9XRY4".into()),
            sedol: Some("2046251".into()),
            contract: None,
            contract_month: None,
        }
    }

    #[test]
    fn contract_symbols_round_trip() {
        use proptest::prelude::*;
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y%m%d").unwrap();
        let fut = Contract::future("ES", d("20240315"));
        assert_eq!(fut.symbol(), "ES-20240315");
        assert_eq!(Contract::parse_symbol("ES-20240315"), Some(fut.clone()));
        let opt = Contract::option(
            "ES-20240315",
            d("20240301"),
            OptionRight::Put,
            "4987.5000".parse().unwrap(),
            Some(OptionStyle::American),
        );
        assert_eq!(opt.symbol(), "ES-20240315-20240301-P-4987.5");
        let back = Contract::parse_symbol(&opt.symbol()).unwrap();
        assert_eq!(back.style, None);
        assert_eq!(
            (back.underlying.as_str(), back.strike),
            ("ES-20240315", opt.strike)
        );
        for not_a_contract in [
            "SPY",
            "BTCUSDT",
            "BTC-USD",
            "ES-2024",
            "ES-20241345",
            "-20240315",
            "X-20240315-C-",
            "X-20240315-Q-5",
            "X-Y-20240315-C-5",
            "X-20240315-C-5.0",
            "ES_20240315",
            "",
        ] {
            assert_eq!(
                Contract::parse_symbol(not_a_contract),
                None,
                "{not_a_contract}"
            );
        }
        proptest!(|(root in "[A-Z0-9]{1,6}", days in 0i64..40_000, m in 1i64..10_000_000, s in 0u8..=4, call: bool, nested: bool)| {
            let expiry = d("19700101") + chrono::Days::new(days as u64);
            let strike = Decimal::new(m, s).unwrap();
            let right = if call { OptionRight::Call } else { OptionRight::Put };
            let underlying = if nested { Contract::future(root.clone(), expiry).symbol() } else { root.clone() };
            let c = Contract::option(underlying, expiry, right, strike, None);
            prop_assert_eq!(Contract::parse_symbol(&c.symbol()), Some(c.clone()));
            let f = Contract::future(root.clone(), expiry);
            prop_assert_eq!(Contract::parse_symbol(&f.symbol()), Some(f));
        });
    }

    #[test]
    fn aliases_and_identifiers_resolve() {
        let reg = SymbolRegistry::new(vec![aapl()]).unwrap();
        for name in [
            "AAPL",
            "AAPL.O",
            "AAPL US Equity",
            "US0378331005",
            "BBG000B9XRY4",
            "2046251",
        ] {
            assert_eq!(
                reg.resolve(name).map(|s| s.symbol.as_str()),
                Some("AAPL"),
                "{name}"
            );
        }
        assert_eq!(reg.canonical("MSFT"), "MSFT");
        assert!(reg.resolve("aapl").is_none(), "lookups are exact");
    }

    #[test]
    fn a_name_claimed_twice_is_an_error_naming_both() {
        let mut other = aapl();
        other.symbol = "APPLE".into();
        other.aliases = vec!["AAPL.O".into()];
        other.isin = None;
        other.figi = None;
        other.sedol = None;
        let err = SymbolRegistry::new(vec![aapl(), other]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "symbols[1] `APPLE`: alias `AAPL.O` already names symbol `AAPL`"
        );
    }

    #[test]
    fn sources_from_toml_like_data() {
        let json = r#"[{"id":"binance","name":"Binance USD-M","kind":"live","priority":10,"event_kinds":["trade","order_book_delta"]},
                      {"id":"lean","kind":"historical","priority":1,"enabled":false}]"#;
        let reg = SourceRegistry::new(serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(reg.get("binance").unwrap().priority, 10);
        assert_eq!(reg.providers(EventKind::Trade).len(), 1, "lean is disabled");
        assert!(reg.providers(EventKind::Bar).is_empty());
        let err = serde_json::from_str::<Vec<SourceInfo>>(r#"[{"id":"x","kind":"live","prio":1}]"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `prio`"), "{err}");
    }
}
