//! A venue-first layout, the naming `examples/custom_naming.rs` registers: every venue's files
//! under one folder, which is how a desk that buys data per venue pays for and deletes it.
//!
//! ```text
//! venue/XNAS/AAPL/2024/trade.2024-01-15.jsonl
//! venue/BINANCE/BTCUSDT/2024/bbo_quote.2024-01-15T13.jsonl
//! source/lean/SPY/2024/trade.2024-01.jsonl        (an event that names no venue)
//! ```
//!
//! With a [`PartitionDimension`] of one's own (`venue_root_first` below: [`RootSymbol`], the
//! root of a futures contract), its value is a level after the venue, kept in the key's
//! `extra` map so the catalog's manifests record it:
//!
//! ```text
//! venue/GLBX/root=ES/ESU4/2024/trade.2024-07-01.jsonl
//! ```
//!
//! Values are escaped with strata's own [`value_segments`] (reversible, never leaves the root,
//! long values split over levels), so the naming passes the naming laws
//! (`tests/custom_naming_passes_the_laws.rs`).

use std::ops::Range;
use std::sync::Arc;

use strata::layout::{
    escape_segment, unescape_segment, value_from_segments, value_segments, Granularity,
    LayoutConfig, LayoutError, Naming, PartitionDimension, PartitionKey, Period, CONTINUATION,
    KNOWN_EXTENSIONS,
};
use strata::model::{AssetClass, Event, EventKind, Timestamp};

/// The root of a futures contract, as a partition dimension: `ES` for `ESU4`, `ESZ24` and
/// `ES-20240315`; any other symbol is its own root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RootSymbol;

impl RootSymbol {
    /// The root of `symbol`.
    pub fn root_of(symbol: &str, asset_class: Option<AssetClass>) -> String {
        if !matches!(asset_class, Some(AssetClass::Future)) {
            return symbol.to_string();
        }
        if let Some((root, _expiry)) = symbol.split_once('-') {
            return root.to_string();
        }
        // A month code (F G H J K M N Q U V X Z) and one or two year digits end the symbol.
        let digits = symbol.bytes().rev().take_while(u8::is_ascii_digit).count();
        let body = &symbol[..symbol.len() - digits];
        match body.as_bytes().last() {
            Some(
                b'F' | b'G' | b'H' | b'J' | b'K' | b'M' | b'N' | b'Q' | b'U' | b'V' | b'X' | b'Z',
            ) if (1..=2).contains(&digits) && body.len() > 1 => body[..body.len() - 1].to_string(),
            _ => symbol.to_string(),
        }
    }
}

impl PartitionDimension for RootSymbol {
    fn name(&self) -> &str {
        "root"
    }

    fn value_of(&self, event: &Event, asset_class: Option<AssetClass>) -> Option<String> {
        Some(Self::root_of(&event.symbol, asset_class))
    }
}

/// `venue/{venue}/{symbol}/{yyyy}/{type}.{date}`, or `source/{source}/…` for events without a
/// venue; with an extra dimension, `venue/{venue}/{name}={value}/{symbol}/…`.
#[derive(Debug, Clone)]
pub struct VenueFirst {
    granularity: Granularity,
    extra: Option<Arc<dyn PartitionDimension>>,
}

impl VenueFirst {
    /// The name a config file selects it by.
    pub const NAME: &'static str = "venue_first";

    /// The name of the variant with a [`RootSymbol`] level.
    pub const WITH_ROOT: &'static str = "venue_root_first";

    /// Adds a level for `dimension` after the venue (or source).
    pub fn with_dimension(mut self, dimension: Arc<dyn PartitionDimension>) -> Self {
        self.extra = Some(dimension);
        self
    }

    /// A venue-first naming cutting files at `granularity` (hourly, daily or monthly).
    pub fn new(granularity: Granularity) -> Result<Self, LayoutError> {
        if granularity == Granularity::None {
            return Err(LayoutError::Extension {
                name: Self::NAME.into(),
                reason: "needs a granularity (hourly, daily or monthly): its folders are years"
                    .into(),
            });
        }
        Ok(VenueFirst {
            granularity,
            extra: None,
        })
    }

    /// The factory [`strata::builder::ArchiveBuilder::register_naming`] takes: honours the
    /// `[layout]` granularity, refuses settings it cannot honour.
    pub fn from_config(config: &LayoutConfig) -> Result<VenueFirst, LayoutError> {
        if config.session_split.is_some() || config.adaptive.is_some() {
            return Err(LayoutError::Extension {
                name: Self::NAME.into(),
                reason: "takes no session_split or adaptive settings".into(),
            });
        }
        VenueFirst::new(config.granularity)
    }

    fn missing(field: &'static str) -> LayoutError {
        LayoutError::MissingField {
            layout: Self::NAME.into(),
            field,
        }
    }

    fn bad(path: &str, reason: impl Into<String>) -> LayoutError {
        LayoutError::InvalidPath {
            path: path.to_string(),
            layout: Self::NAME.into(),
            segment: String::new(),
            reason: reason.into(),
        }
    }
}

/// Takes one value (one or more levels, all but the last ending in the continuation mark).
fn take_value<'a>(levels: &mut std::slice::Iter<'a, &'a str>) -> Option<Vec<&'a str>> {
    let mut pieces = Vec::new();
    for level in levels.by_ref() {
        pieces.push(*level);
        if !level.ends_with(CONTINUATION) {
            return Some(pieces);
        }
    }
    None
}

impl Naming for VenueFirst {
    fn name(&self) -> String {
        match &self.extra {
            None => format!("{} ({})", Self::NAME, self.granularity),
            Some(dim) => format!("{} + {} ({})", Self::NAME, dim.name(), self.granularity),
        }
    }

    fn template(&self) -> String {
        "venue/{venue}/{symbol}/{yyyy}/{type}.{date} (or source/{source}/… without a venue)".into()
    }

    fn granularity(&self) -> Granularity {
        self.granularity
    }

    fn key_for_event(
        &self,
        event: &Event,
        asset_class: Option<AssetClass>,
        granularity: Granularity,
    ) -> PartitionKey {
        let key = PartitionKey {
            source: Some(event.source.clone()),
            asset_class,
            symbol: Some(event.symbol.clone()),
            kind: Some(event.kind()),
            exchange: event.venue.clone(),
            period: Period::containing(event.event_time, granularity),
            ..PartitionKey::default()
        };
        match &self.extra {
            Some(dim) => key.with_dimensions(&[dim.as_ref()], event, asset_class),
            None => key,
        }
    }

    fn project(&self, key: &PartitionKey) -> PartitionKey {
        PartitionKey {
            source: key.source.clone().filter(|_| key.exchange.is_none()),
            exchange: key.exchange.clone(),
            symbol: key.symbol.clone(),
            kind: key.kind,
            period: key.period,
            extra: match &self.extra {
                Some(dim) => key
                    .extra
                    .iter()
                    .filter(|(name, _)| name.as_str() == dim.name())
                    .map(|(n, v)| (n.clone(), v.clone()))
                    .collect(),
                None => Default::default(),
            },
            ..PartitionKey::default()
        }
    }

    fn render(&self, key: &PartitionKey) -> Result<String, LayoutError> {
        let mut levels = Vec::new();
        match (&key.exchange, &key.source) {
            (Some(venue), _) => {
                levels.push("venue".to_string());
                levels.extend(value_segments(venue));
            }
            (None, Some(source)) => {
                levels.push("source".to_string());
                levels.extend(value_segments(source));
            }
            (None, None) => return Err(Self::missing("exchange or source")),
        }
        if let Some(dim) = &self.extra {
            let value = key
                .extra
                .get(dim.name())
                .ok_or_else(|| Self::missing("the extra dimension"))?;
            let mut pieces = value_segments(value);
            if let Some(first) = pieces.first_mut() {
                first.insert_str(0, &format!("{}=", dim.name()));
            }
            levels.extend(pieces);
        }
        levels.extend(value_segments(
            key.symbol
                .as_deref()
                .ok_or_else(|| Self::missing("symbol"))?,
        ));
        let period = key.period.ok_or_else(|| Self::missing("period"))?;
        let kind = key.kind.ok_or_else(|| Self::missing("event kind"))?;
        let date = period.to_string();
        levels.push(date.get(..4).unwrap_or_default().to_string());
        levels.push(format!("{}.{date}", escape_segment(kind.as_str())));
        Ok(levels.join("/"))
    }

    fn parse(&self, path: &str) -> Result<PartitionKey, LayoutError> {
        let stem = KNOWN_EXTENSIONS
            .iter()
            .find_map(|ext| path.strip_suffix(ext))
            .unwrap_or(path);
        let levels: Vec<&str> = stem.split('/').collect();
        let mut it = levels.iter();
        let root = it.next().copied();
        let first = take_value(&mut it).ok_or_else(|| Self::bad(path, "no venue or source"))?;
        let first = value_from_segments(&first)?;
        let mut extra = std::collections::BTreeMap::new();
        if let Some(dim) = &self.extra {
            let mut pieces = take_value(&mut it).ok_or_else(|| Self::bad(path, "no root level"))?;
            let prefix = format!("{}=", dim.name());
            let Some(first) = pieces
                .first_mut()
                .and_then(|p| p.strip_prefix(prefix.as_str()))
            else {
                return Err(Self::bad(path, format!("expected a `{prefix}` level")));
            };
            pieces[0] = first;
            extra.insert(dim.name().to_string(), value_from_segments(&pieces)?);
        }
        let symbol = take_value(&mut it).ok_or_else(|| Self::bad(path, "no symbol"))?;
        let symbol = value_from_segments(&symbol)?;
        let (Some(year), Some(file), None) = (it.next(), it.next(), it.next()) else {
            return Err(Self::bad(path, "expected …/{yyyy}/{type}.{date}"));
        };
        let (kind, date) = file
            .split_once('.')
            .ok_or_else(|| Self::bad(path, "the file name is not {type}.{date}"))?;
        let kind: EventKind = unescape_segment(kind)?
            .parse()
            .map_err(|e| Self::bad(path, format!("{e}")))?;
        let period: Period = date.parse()?;
        if period.to_string() != date || date.get(..4) != Some(*year) {
            return Err(Self::bad(path, "the year folder does not match the date"));
        }
        let (exchange, source) = match root {
            Some("venue") => (Some(first), None),
            Some("source") => (None, Some(first)),
            _ => return Err(Self::bad(path, "does not start with venue/ or source/")),
        };
        Ok(PartitionKey {
            source,
            exchange,
            symbol: Some(symbol),
            kind: Some(kind),
            period: Some(period),
            extra,
            ..PartitionKey::default()
        })
    }

    fn time_range(&self, key: &PartitionKey) -> Option<Range<Timestamp>> {
        key.period.map(|p| p.start()..p.end())
    }
}
