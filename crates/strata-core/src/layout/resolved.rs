//! A checked layout: partition key → relative path stem, and back.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use strata_model::{AssetClass, Event, EventKind, Timestamp};

use super::escape::{value_from_segments, value_segments, CONTINUATION, KNOWN_EXTENSIONS};
use super::{
    AdaptiveGranularity, Dimension, Granularity, GranularityChoice, LayoutConfig, LayoutError,
    NamingConvention, PartitionKey, Partitioning, PathStyle, Period, Scheme, SessionSplit,
    TradingSession,
};

/// A resolved, checked layout: a [`Scheme`] (naming convention or partitioning), a
/// granularity, and optionally a session split and adaptive granularity.
///
/// [`render`](Layout::render) turns a [`PartitionKey`] into a relative path stem with `/`
/// separators and no extension — the writer appends `.jsonl`, `.jsonl.zst`, `.parquet`, … —
/// and [`parse`](Layout::parse) turns such a path back into the key. The two are exact
/// inverses: `parse(render(k)) == project(k)` for every key that renders, and
/// `render(parse(p)) == p` (without its extension) for every path that parses.
///
/// In config a layout is a [`LayoutConfig`]; `Layout` itself (de)serializes through it and is
/// checked on the way in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LayoutConfig", into = "LayoutConfig")]
pub struct Layout {
    scheme: Scheme,
    granularity: Granularity,
    session_split: Option<SessionSplit>,
    adaptive: Option<AdaptiveGranularity>,
}

impl Default for Layout {
    /// by_symbol, daily, no session split, fixed granularity.
    fn default() -> Self {
        Layout::new(NamingConvention::BySymbol, Granularity::Daily)
    }
}

impl Layout {
    /// A layout with a naming convention (every convention works with every granularity).
    pub fn new(naming: NamingConvention, granularity: Granularity) -> Layout {
        Layout {
            scheme: Scheme::Naming(naming),
            granularity,
            session_split: None,
            adaptive: None,
        }
    }

    /// A layout with a partitioning; refuses an empty or repeating dimension list, and a
    /// `date` dimension at granularity none.
    pub fn partitioned(
        partitioning: Partitioning,
        granularity: Granularity,
    ) -> Result<Layout, LayoutError> {
        let layout = Layout {
            scheme: Scheme::Partitioned(partitioning),
            granularity,
            session_split: None,
            adaptive: None,
        };
        layout.check()?;
        Ok(layout)
    }

    /// Adds a session split; needs daily granularity and a date in the path.
    pub fn with_session_split(mut self, split: SessionSplit) -> Result<Layout, LayoutError> {
        self.session_split = Some(split);
        self.check()?;
        Ok(self)
    }

    /// Adds adaptive granularity; needs a date in the path. The layout's own granularity
    /// remains the choice for partitions whose rate is not known yet.
    pub fn with_adaptive(mut self, adaptive: AdaptiveGranularity) -> Result<Layout, LayoutError> {
        self.adaptive = Some(adaptive);
        self.check()?;
        Ok(self)
    }

    /// The layout config settings describe, checked.
    pub fn from_config(config: &LayoutConfig) -> Result<Layout, LayoutError> {
        let naming = match &config.naming {
            Some(super::NamingChoice::Extension(name)) => {
                return Err(LayoutError::UnknownNaming {
                    name: name.clone(),
                    registered: "none".into(),
                })
            }
            Some(super::NamingChoice::Convention(convention)) => Some(*convention),
            None => None,
        };
        let scheme = match (naming, &config.partitioning) {
            (Some(_), Some(_)) => {
                return Err(LayoutError::InvalidConfig {
                    key: "partitioning",
                    reason: "set either `naming` or `partitioning`, not both".into(),
                })
            }
            (None, Some(partitioning)) => Scheme::Partitioned(partitioning.clone()),
            (naming, None) => Scheme::Naming(naming.unwrap_or_default()),
        };
        let layout = Layout {
            scheme,
            granularity: config.granularity,
            session_split: config.session_split,
            adaptive: config.adaptive,
        };
        layout.check()?;
        Ok(layout)
    }

    /// The config settings of this layout.
    pub fn to_config(&self) -> LayoutConfig {
        let (naming, partitioning) = match &self.scheme {
            Scheme::Naming(naming) => (Some((*naming).into()), None),
            Scheme::Partitioned(partitioning) => (None, Some(partitioning.clone())),
        };
        LayoutConfig {
            naming,
            partitioning,
            granularity: self.granularity,
            session_split: self.session_split,
            adaptive: self.adaptive,
        }
    }

    /// The naming convention or partitioning.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The configured granularity (adaptive granularity may pick another per partition).
    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// The session split, if daily files are split by trading session.
    pub fn session_split(&self) -> Option<&SessionSplit> {
        self.session_split.as_ref()
    }

    /// The adaptive granularity thresholds, if on.
    pub fn adaptive(&self) -> Option<&AdaptiveGranularity> {
        self.adaptive.as_ref()
    }

    /// Whether this layout's paths carry `dimension` (the date only at a granularity other
    /// than none).
    pub fn encodes(&self, dimension: Dimension) -> bool {
        let listed = self.scheme.dimensions().contains(&dimension);
        listed && (dimension != Dimension::Date || self.granularity != Granularity::None)
    }

    /// The path shape in words, like `{symbol}/{type}/{date}` or
    /// `source={source}/symbol={symbol}/{date}.{session}`.
    pub fn template(&self) -> String {
        let date = if self.session_split.is_some() {
            "{date}.{session}"
        } else {
            "{date}"
        };
        let placeholder = |dimension: Dimension| match dimension {
            Dimension::Date => date.to_string(),
            Dimension::EventType => "{type}".to_string(),
            other => format!("{{{other}}}"),
        };
        let levels = self.levels();
        let parts: Vec<String> = match &self.scheme {
            Scheme::Naming(NamingConvention::Flat) => {
                return levels
                    .into_iter()
                    .map(placeholder)
                    .collect::<Vec<_>>()
                    .join("_")
            }
            Scheme::Naming(NamingConvention::Canonical) => levels
                .into_iter()
                .map(|dimension| match (dimension, self.granularity) {
                    (Dimension::Date, Granularity::Monthly) => "{yyyy}/{mm}".to_string(),
                    (Dimension::Date, Granularity::Hourly) => "{yyyy}/{mm}/{dd}/{hh}".to_string(),
                    (Dimension::Date, _) if self.session_split.is_some() => {
                        "{yyyy}/{mm}/{dd}.{session}".to_string()
                    }
                    (Dimension::Date, _) => "{yyyy}/{mm}/{dd}".to_string(),
                    (other, _) => placeholder(other),
                })
                .collect(),
            Scheme::Naming(_) => levels.into_iter().map(placeholder).collect(),
            Scheme::Partitioned(partitioning) => {
                let last = levels.len().saturating_sub(1);
                levels
                    .into_iter()
                    .enumerate()
                    .map(|(i, dimension)| {
                        if partitioning.style == PathStyle::Hive && i != last {
                            format!("{dimension}={}", placeholder(dimension))
                        } else {
                            placeholder(dimension)
                        }
                    })
                    .collect()
            }
        };
        parts.join("/")
    }

    /// The granularity to write a partition with, and why: the adaptive choice when it is on
    /// and the partition's rate is known, the configured granularity otherwise.
    pub fn granularity_for(&self, observed_events_per_day: Option<u64>) -> GranularityChoice {
        match (&self.adaptive, observed_events_per_day) {
            (Some(adaptive), Some(observed)) => adaptive.choose(observed),
            (Some(_), None) => GranularityChoice {
                granularity: self.granularity,
                reason: format!(
                    "no event rate observed yet: the configured granularity, {}",
                    self.granularity
                ),
            },
            (None, _) => GranularityChoice {
                granularity: self.granularity,
                reason: format!(
                    "fixed granularity {} (adaptive granularity is off)",
                    self.granularity
                ),
            },
        }
    }

    /// The period (and, for daily periods of a session-split layout, the exchange-local date
    /// and session) that `time` falls in at `granularity`.
    pub fn period_of(
        &self,
        time: Timestamp,
        granularity: Granularity,
    ) -> (Option<Period>, Option<TradingSession>) {
        match (granularity, &self.session_split) {
            (Granularity::Daily, Some(split)) => {
                let (date, session) = split.session_of(time);
                (Some(Period::Day(date)), Some(session))
            }
            _ => (Period::containing(time, granularity), None),
        }
    }

    /// The full key of an event: source, symbol, kind, venue (as exchange), the given asset
    /// class, and the period of its event time at `granularity`.
    pub fn key_for_event(
        &self,
        event: &Event,
        asset_class: Option<AssetClass>,
        granularity: Granularity,
    ) -> PartitionKey {
        let (period, session) = self.period_of(event.event_time, granularity);
        PartitionKey {
            source: Some(event.source.clone()),
            asset_class,
            symbol: Some(event.symbol.clone()),
            kind: Some(event.kind()),
            exchange: event.venue.clone(),
            period,
            session,
            extra: Default::default(),
        }
    }

    /// The part of `key` this layout's paths encode; the rest becomes `None` (and the extra
    /// dimensions, which no built-in layout writes, empty).
    pub fn project(&self, key: &PartitionKey) -> PartitionKey {
        let keep = |dimension| self.encodes(dimension);
        let period = if keep(Dimension::Date) {
            key.period
        } else {
            None
        };
        PartitionKey {
            source: key.source.clone().filter(|_| keep(Dimension::Source)),
            asset_class: key.asset_class.filter(|_| keep(Dimension::AssetClass)),
            symbol: key.symbol.clone().filter(|_| keep(Dimension::Symbol)),
            kind: key.kind.filter(|_| keep(Dimension::EventType)),
            exchange: key.exchange.clone().filter(|_| keep(Dimension::Exchange)),
            session: match period {
                Some(p) if self.splits_sessions(p) => key.session,
                _ => None,
            },
            period,
            extra: Default::default(),
        }
    }

    /// The UTC instants a file of `key` can hold, as a half-open range; `None` when the key
    /// has no period (all time). Session-split daily files cover their local session.
    pub fn time_range(&self, key: &PartitionKey) -> Option<Range<Timestamp>> {
        let period = key.period?;
        match (period, &self.session_split) {
            (Period::Day(date), Some(split)) => {
                // Without a session, the whole local day (which is what `Closed` spans).
                Some(split.bounds(date, key.session.unwrap_or(TradingSession::Closed)))
            }
            _ => Some(period.start()..period.end()),
        }
    }

    /// The relative path stem of `key`: `/`-separated, every value escaped (see
    /// [`escape_segment`](super::escape_segment)), no extension. Fields the layout does not
    /// encode are ignored; a missing field it needs is an error, as is a daily period without
    /// a session in a session-split layout. The period is written at its own granularity,
    /// whatever the layout's.
    pub fn render(&self, key: &PartitionKey) -> Result<String, LayoutError> {
        let levels = self.levels();
        let mut path: Vec<String> = Vec::new();
        match &self.scheme {
            Scheme::Naming(NamingConvention::Flat) => {
                // `{symbol}_{type}[_{date}]`; a long symbol's leading pieces become directories.
                path = value_segments(self.require(key.symbol.as_deref(), "symbol")?);
                let mut name = path.pop().unwrap_or_default();
                name.push('_');
                name.push_str(self.require(key.kind, "event kind")?.as_str());
                if self.encodes(Dimension::Date) {
                    name.push('_');
                    name.push_str(&self.date_text(key)?);
                }
                path.push(name);
            }
            Scheme::Naming(NamingConvention::Canonical) => {
                for dimension in levels {
                    if dimension == Dimension::Date {
                        path.extend(self.canonical_date_levels(key)?);
                    } else {
                        path.extend(self.render_field(dimension, key)?);
                    }
                }
            }
            Scheme::Naming(_) => {
                for dimension in levels {
                    path.extend(self.render_field(dimension, key)?);
                }
            }
            Scheme::Partitioned(partitioning) => {
                let last = levels.len().saturating_sub(1);
                for (i, dimension) in levels.into_iter().enumerate() {
                    let mut segments = self.render_field(dimension, key)?;
                    if partitioning.style == PathStyle::Hive && i != last {
                        if let Some(first) = segments.first_mut() {
                            first.insert_str(0, &format!("{dimension}="));
                        }
                    }
                    path.extend(segments);
                }
            }
        }
        Ok(path.join("/"))
    }

    /// The key a path of this layout stands for (the projection of the key that rendered it).
    ///
    /// `path` is a stem relative to the layout's root, optionally with one of the
    /// [`KNOWN_EXTENSIONS`]. Date text of any granularity is
    /// accepted, whatever the layout's granularity, so files written under adaptive
    /// granularity or an earlier granularity setting are found. Anything [`render`](Self::render)
    /// could not have written is an error naming the path and the failing segment.
    pub fn parse(&self, path: &str) -> Result<PartitionKey, LayoutError> {
        PathParser { layout: self, path }.parse()
    }

    /// The dimensions that appear in paths, in order.
    fn levels(&self) -> Vec<Dimension> {
        self.scheme
            .dimensions()
            .iter()
            .copied()
            .filter(|d| self.encodes(*d))
            .collect()
    }

    /// Whether `period` carries a session suffix in this layout.
    fn splits_sessions(&self, period: Period) -> bool {
        self.session_split.is_some() && matches!(period, Period::Day(_))
    }

    fn check(&self) -> Result<(), LayoutError> {
        let invalid = |key, reason: String| Err(LayoutError::InvalidConfig { key, reason });
        if let Scheme::Partitioned(partitioning) = &self.scheme {
            partitioning.validate()?;
            if self.granularity == Granularity::None
                && partitioning.dimensions.contains(&Dimension::Date)
            {
                return invalid(
                    "partitioning.dimensions",
                    "lists `date`, but granularity is none; drop `date` or choose hourly, daily \
                     or monthly"
                        .into(),
                );
            }
        }
        let has_date = self.encodes(Dimension::Date);
        if let Some(split) = &self.session_split {
            split.validate()?;
            if self.granularity != Granularity::Daily {
                return invalid(
                    "session_split",
                    format!(
                        "sessions split days, so it needs granularity = \"daily\" (not \"{}\")",
                        self.granularity
                    ),
                );
            }
            if !has_date {
                return invalid(
                    "session_split",
                    "the layout has no date in its paths to carry the session".into(),
                );
            }
        }
        if let Some(adaptive) = &self.adaptive {
            adaptive.validate()?;
            if !has_date {
                return invalid(
                    "adaptive",
                    "the layout has no date in its paths (granularity none, or no `date` \
                     dimension), so there is no granularity to adapt"
                        .into(),
                );
            }
        }
        Ok(())
    }

    fn require<T>(&self, value: Option<T>, field: &'static str) -> Result<T, LayoutError> {
        value.ok_or_else(|| LayoutError::MissingField {
            layout: self.to_string(),
            field,
        })
    }

    fn render_field(
        &self,
        dimension: Dimension,
        key: &PartitionKey,
    ) -> Result<Vec<String>, LayoutError> {
        Ok(match dimension {
            Dimension::Symbol => value_segments(self.require(key.symbol.as_deref(), "symbol")?),
            Dimension::Source => value_segments(self.require(key.source.as_deref(), "source")?),
            Dimension::Exchange => {
                value_segments(self.require(key.exchange.as_deref(), "exchange")?)
            }
            Dimension::EventType => vec![self.require(key.kind, "event kind")?.to_string()],
            Dimension::AssetClass => {
                vec![self.require(key.asset_class, "asset class")?.to_string()]
            }
            Dimension::Date => vec![self.date_text(key)?],
        })
    }

    /// The checked period of `key`, and its session when the layout splits that period.
    fn date_parts(
        &self,
        key: &PartitionKey,
    ) -> Result<(Period, Option<TradingSession>), LayoutError> {
        let period = self.require(key.period, "period")?;
        if !period.is_valid() {
            return Err(LayoutError::InvalidPeriod {
                text: format!("{period:?}"),
                reason: "date text needs a year 0000-9999, an hour 00-23 and a month 01-12".into(),
            });
        }
        let session = if self.splits_sessions(period) {
            Some(self.require(key.session, "session")?)
        } else {
            None
        };
        Ok((period, session))
    }

    /// `2024-01-15`, `2024-01-15.regular`, `2024-01-15T13` or `2024-01`.
    fn date_text(&self, key: &PartitionKey) -> Result<String, LayoutError> {
        Ok(match self.date_parts(key)? {
            (period, Some(session)) => format!("{period}.{session}"),
            (period, None) => period.to_string(),
        })
    }

    /// `2024/01`, `2024/01/15`, `2024/01/15.regular` or `2024/01/15/13`.
    fn canonical_date_levels(&self, key: &PartitionKey) -> Result<Vec<String>, LayoutError> {
        let (period, session) = self.date_parts(key)?;
        let ymd = |date: chrono::NaiveDate| {
            ["%Y", "%m", "%d"]
                .map(|field| date.format(field).to_string())
                .to_vec()
        };
        let mut levels = match period {
            Period::Month(year, month) => vec![format!("{year:04}"), format!("{month:02}")],
            Period::Day(date) => ymd(date),
            Period::Hour(date, hour) => {
                let mut levels = ymd(date);
                levels.push(format!("{hour:02}"));
                levels
            }
        };
        if let (Some(session), Some(day)) = (session, levels.last_mut()) {
            day.push('.');
            day.push_str(session.as_str());
        }
        Ok(levels)
    }
}

impl fmt::Display for Layout {
    /// A short description for messages: `by_symbol, daily`,
    /// `hive[source,symbol,date], daily, sessions in America/New_York, adaptive`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.scheme, self.granularity)?;
        if let Some(split) = &self.session_split {
            write!(f, ", sessions in {}", split.timezone.name())?;
        }
        if self.adaptive.is_some() {
            f.write_str(", adaptive")?;
        }
        Ok(())
    }
}

impl TryFrom<LayoutConfig> for Layout {
    type Error = LayoutError;
    fn try_from(config: LayoutConfig) -> Result<Self, LayoutError> {
        Layout::from_config(&config)
    }
}

impl From<Layout> for LayoutConfig {
    fn from(layout: Layout) -> Self {
        layout.to_config()
    }
}

/// One parse of one path, holding what every error message names.
struct PathParser<'a> {
    layout: &'a Layout,
    path: &'a str,
}

/// Placeholders of the canonical date levels, for messages.
const CANONICAL_DATE_LEVELS: [&str; 4] = ["yyyy", "mm", "dd", "hh"];

/// Source, symbol and type follow the date levels of the canonical convention.
const CANONICAL_TAIL: usize = 3;

impl PathParser<'_> {
    fn parse(&self) -> Result<PartitionKey, LayoutError> {
        let stem = KNOWN_EXTENSIONS
            .iter()
            .find_map(|extension| self.path.strip_suffix(extension))
            .unwrap_or(self.path);
        if stem.is_empty() {
            return Err(self.fail(stem, "the path is empty"));
        }
        let components: Vec<&str> = stem.split('/').collect();
        if let Some(bad) = components
            .iter()
            .find(|c| c.is_empty() || **c == "." || **c == "..")
        {
            return Err(self.fail(
                bad,
                "empty, `.` and `..` levels never appear in strata paths; give the path \
                 relative to the layout's root",
            ));
        }
        let groups = self.group_continuations(&components)?;
        let layout = self.layout;
        let mut key = PartitionKey::default();
        match &layout.scheme {
            Scheme::Naming(NamingConvention::Flat) => {
                let [group] = groups.as_slice() else {
                    return Err(self.wrong_depth(groups.len()));
                };
                self.flat_name(group, &mut key)?;
            }
            Scheme::Naming(NamingConvention::Canonical) => {
                let date_levels = groups.len().saturating_sub(CANONICAL_TAIL);
                let allowed = if layout.encodes(Dimension::Date) {
                    2..=4
                } else {
                    0..=0
                };
                if groups.len() < CANONICAL_TAIL || !allowed.contains(&date_levels) {
                    return Err(self.wrong_depth(groups.len()));
                }
                let (date, tail) = groups.split_at(date_levels);
                if !date.is_empty() {
                    self.canonical_date(date, &mut key)?;
                }
                let tail_dimensions = [Dimension::Source, Dimension::Symbol, Dimension::EventType];
                for (dimension, group) in tail_dimensions.into_iter().zip(tail) {
                    self.field(dimension, group, false, &mut key)?;
                }
            }
            Scheme::Naming(_) | Scheme::Partitioned(_) => {
                let levels = layout.levels();
                if groups.len() != levels.len() {
                    return Err(self.wrong_depth(groups.len()));
                }
                let hive = matches!(&layout.scheme,
                    Scheme::Partitioned(p) if p.style == PathStyle::Hive);
                let last = levels.len().saturating_sub(1);
                for (i, (dimension, group)) in levels.into_iter().zip(&groups).enumerate() {
                    self.field(dimension, group, hive && i != last, &mut key)?;
                }
            }
        }
        Ok(key)
    }

    /// Joins each value split over several levels (all pieces but the last end in `~`).
    fn group_continuations<'p>(
        &self,
        components: &'p [&'p str],
    ) -> Result<Vec<&'p [&'p str]>, LayoutError> {
        let mut groups = Vec::new();
        let mut start = 0;
        for (i, component) in components.iter().enumerate() {
            if !component.ends_with(CONTINUATION) {
                groups.push(&components[start..=i]);
                start = i + 1;
            }
        }
        match components.get(start..) {
            Some([.., dangling]) => Err(self.fail(
                dangling,
                format!("ends in `{CONTINUATION}`, so the value goes on, but the path ends here"),
            )),
            _ => Ok(groups),
        }
    }

    /// `{symbol}_{type}[_{date}]`, the symbol possibly continued from directories before.
    fn flat_name(&self, group: &[&str], key: &mut PartitionKey) -> Result<(), LayoutError> {
        let Some((name, directories)) = group.split_last() else {
            return Err(self.wrong_depth(0));
        };
        let shape = || format!("expected `{}`", self.layout.template());
        let (symbol_tail, rest) = name
            .split_once('_')
            .ok_or_else(|| self.fail(name, shape()))?;
        let mut pieces = directories.to_vec();
        pieces.push(symbol_tail);
        key.symbol = Some(self.value(&pieces)?);
        let kind = if self.layout.encodes(Dimension::Date) {
            let (kind, date) = rest
                .rsplit_once('_')
                .ok_or_else(|| self.fail(name, shape()))?;
            self.date(date, date, key)?;
            kind
        } else {
            rest
        };
        key.kind = Some(self.kind(kind)?);
        Ok(())
    }

    /// `yyyy/mm`, `yyyy/mm/dd[.session]` or `yyyy/mm/dd/hh`, one level per group.
    fn canonical_date(
        &self,
        groups: &[&[&str]],
        key: &mut PartitionKey,
    ) -> Result<(), LayoutError> {
        let mut levels = Vec::with_capacity(groups.len());
        for (i, group) in groups.iter().enumerate() {
            let [level] = group else {
                return Err(self.fail(&group.join("/"), "a date level is never split"));
            };
            levels.push(*level);
            let digits = if i == 2 && groups.len() == 3 {
                level.split_once('.').map_or(*level, |(day, _)| day)
            } else {
                level
            };
            let width = if i == 0 { 4 } else { 2 };
            if digits.len() != width || !digits.bytes().all(|b| b.is_ascii_digit()) {
                let name = CANONICAL_DATE_LEVELS.get(i).copied().unwrap_or("date");
                return Err(self.fail(level, format!("expected {width} digits for {{{name}}}")));
            }
        }
        let text = match levels.as_slice() {
            [year, month] => format!("{year}-{month}"),
            [year, month, day] => format!("{year}-{month}-{day}"),
            [year, month, day, hour] => format!("{year}-{month}-{day}T{hour}"),
            _ => return Err(self.wrong_depth(levels.len() + CANONICAL_TAIL)),
        };
        self.date(&text, &levels.join("/"), key)
    }

    /// One dimension's value from its group of levels; `prefixed` for Hive directories.
    fn field(
        &self,
        dimension: Dimension,
        group: &[&str],
        prefixed: bool,
        key: &mut PartitionKey,
    ) -> Result<(), LayoutError> {
        let mut pieces = group.to_vec();
        if prefixed {
            let prefix = format!("{dimension}=");
            if let Some(first) = pieces.first_mut() {
                let text: &str = first;
                *first = text
                    .strip_prefix(prefix.as_str())
                    .ok_or_else(|| self.fail(text, format!("expected `{prefix}…`")))?;
            }
        }
        let single = || match pieces.as_slice() {
            [one] => Ok(*one),
            _ => Err(self.fail(&pieces.join("/"), format!("a {dimension} is never split"))),
        };
        match dimension {
            Dimension::Symbol => key.symbol = Some(self.value(&pieces)?),
            Dimension::Source => key.source = Some(self.value(&pieces)?),
            Dimension::Exchange => key.exchange = Some(self.value(&pieces)?),
            Dimension::EventType => key.kind = Some(self.kind(single()?)?),
            Dimension::AssetClass => {
                let text = single()?;
                key.asset_class = Some(
                    text.parse::<AssetClass>()
                        .map_err(|e| self.fail(text, e.to_string()))?,
                );
            }
            Dimension::Date => {
                let text = single()?;
                self.date(text, text, key)?;
            }
        }
        Ok(())
    }

    fn value(&self, pieces: &[&str]) -> Result<String, LayoutError> {
        value_from_segments(pieces).map_err(|error| match error {
            LayoutError::InvalidEscape { segment, reason } => self.fail(&segment, reason),
            other => other,
        })
    }

    fn kind(&self, text: &str) -> Result<EventKind, LayoutError> {
        text.parse()
            .map_err(|e: strata_model::UnknownName| self.fail(text, e.to_string()))
    }

    /// Date text with its optional session suffix; `segment` is what errors name.
    fn date(&self, text: &str, segment: &str, key: &mut PartitionKey) -> Result<(), LayoutError> {
        let (date, suffix) = match text.split_once('.') {
            Some((date, suffix)) => (date, Some(suffix)),
            None => (text, None),
        };
        let period = Period::parse_text(date).map_err(|reason| self.fail(segment, reason))?;
        key.session = match (self.layout.splits_sessions(period), suffix) {
            (true, Some(suffix)) => Some(
                suffix
                    .parse()
                    .map_err(|e: strata_model::UnknownName| self.fail(segment, e.to_string()))?,
            ),
            (true, None) => {
                return Err(self.fail(
                    segment,
                    "this layout splits days into sessions: expected a suffix `.pre`, \
                     `.regular`, `.after` or `.closed`",
                ))
            }
            (false, Some(_)) => {
                return Err(self.fail(
                    segment,
                    "only the daily dates of a session-split layout carry a session suffix",
                ))
            }
            (false, None) => None,
        };
        key.period = Some(period);
        Ok(())
    }

    fn fail(&self, segment: &str, reason: impl Into<String>) -> LayoutError {
        LayoutError::InvalidPath {
            path: self.path.to_string(),
            layout: self.layout.to_string(),
            segment: segment.to_string(),
            reason: reason.into(),
        }
    }

    fn wrong_depth(&self, found: usize) -> LayoutError {
        LayoutError::WrongDepth {
            path: self.path.to_string(),
            layout: self.layout.to_string(),
            template: self.layout.template(),
            found,
        }
    }
}
