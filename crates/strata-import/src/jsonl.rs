//! strata JSONL v1 input (`docs/SCHEMA.md`): one event per line, decoded with
//! [`strata_model::jsonl::decode_line`].
//!
//! Blank lines are skipped. `--source`, `--symbol` override the events' own; `--venue` fills an
//! absent venue; `--kind` keeps only that kind (other events are [`Record::Skipped`]).

use std::collections::VecDeque;

use strata_model::{Event, EventKind};

use crate::error::RowError;
use crate::input::{rejected_line, LineParser};
use crate::record::Record;
use crate::ImportOptions;

/// What [`parse_line`] applies to each decoded event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonlOverrides {
    /// Replaces every event's source.
    pub source: Option<String>,
    /// Replaces every event's symbol.
    pub symbol: Option<String>,
    /// Fills an absent venue.
    pub venue: Option<String>,
}

impl JsonlOverrides {
    /// The overrides the options ask for.
    pub fn from_options(options: &ImportOptions) -> Self {
        JsonlOverrides {
            source: options.source.clone(),
            symbol: options.symbol.clone(),
            venue: options.venue.clone(),
        }
    }
}

/// Decodes one JSONL line and applies `overrides`; the error names the field.
pub fn parse_line(line: &[u8], overrides: &JsonlOverrides) -> Result<Event, RowError> {
    let mut event = strata_model::jsonl::decode_line(line)?;
    if let Some(source) = &overrides.source {
        source.clone_into(&mut event.source);
    }
    if let Some(symbol) = &overrides.symbol {
        symbol.clone_into(&mut event.symbol);
    }
    if event.venue.is_none() {
        event.venue.clone_from(&overrides.venue);
    }
    Ok(event)
}

/// The line parser behind [`Format::Jsonl`](crate::Format::Jsonl).
pub(crate) struct JsonlLines {
    pub(crate) file: String,
    pub(crate) overrides: JsonlOverrides,
    pub(crate) kind: Option<EventKind>,
}

impl LineParser for JsonlLines {
    fn parse_line(&mut self, line_no: u64, line: &[u8], out: &mut VecDeque<Record>) {
        match parse_line(line, &self.overrides) {
            Ok(event) => out.push_back(crate::select_kind(event, self.kind, line_no)),
            Err(reason) => {
                out.push_back(rejected_line(&self.file, line_no, reason.to_string(), line))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"{"v":"1.0","kind":"trade","source":"binance","symbol":"BTCUSDT","ts":1,"price":"60123.10","size":"0.005"}"#;

    #[test]
    fn overrides_replace_source_and_symbol_and_fill_venue() {
        let plain = parse_line(LINE, &JsonlOverrides::default()).unwrap();
        assert_eq!(
            (plain.source.as_str(), plain.venue.as_deref()),
            ("binance", None)
        );
        let overrides = JsonlOverrides {
            source: Some("replay".into()),
            symbol: Some("BTC-PERP".into()),
            venue: Some("BINANCE".into()),
        };
        let event = parse_line(LINE, &overrides).unwrap();
        assert_eq!(event.source, "replay");
        assert_eq!(event.symbol, "BTC-PERP");
        assert_eq!(event.venue.as_deref(), Some("BINANCE"));
        assert_eq!(event.payload.trade().unwrap().price.to_string(), "60123.10");
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse_line(
            br#"{"v":"1.0","kind":"trade","source":"s","symbol":"X","ts":1,"size":"1"}"#,
            &JsonlOverrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("price"), "{err}");
    }
}
