//! Reversible, path-safe escaping of values (LAYOUT-3).
//!
//! A value (symbol, source, exchange) becomes one path segment that is safe on every file
//! system strata may write to and under every object store:
//!
//! - ASCII letters, digits and `-` stay; `.` stays unless it is the first or last byte;
//! - every other byte of the UTF-8 text is written `%XX` (upper-case hex), so `/`, `\`, `:`,
//!   space, `_` (the [`Flat`](super::NamingConvention::Flat) separator), `=` (Hive style), `%`,
//!   `~` (the continuation marker) and all non-ASCII text are encoded;
//! - the empty value is written as a lone `%`;
//! - a Windows device name (`CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9`, in any
//!   case and also followed by an extension, like `nul.txt`) gets its first character encoded;
//! - a value that would end in one of the [`KNOWN_EXTENSIONS`] gets that extension's dot
//!   encoded, so a stem never looks like it already carries an extension.
//!
//! So no segment is empty, `.` or `..`, none starts or ends with a dot, and the encoding is
//! canonical: [`unescape_segment`] accepts exactly what [`escape_segment`] writes.
//!
//! A value whose escaped form exceeds [`MAX_SEGMENT_BYTES`] is cut into pieces, each escaped on
//! its own, and every piece but the last ends with [`CONTINUATION`] (`~`, which values never
//! contain unescaped); the pieces become consecutive directory levels.

use super::LayoutError;

/// The longest escaped value kept in one path segment, in bytes; longer values are split.
///
/// 160 leaves room under the 255-byte component limit of common file systems for a Hive
/// prefix (`exchange=`), the [`Flat`](super::NamingConvention::Flat) suffix
/// (`_order_book_delta_2024-01-15.regular`, 36 bytes) and the longest name the writer derives
/// from a stem (`_000001.jsonl.zst.manifest.json.tmp`, 35 bytes: segment number, extension chain,
/// sidecar, temporary).
pub const MAX_SEGMENT_BYTES: usize = 160;

/// Ends every piece but the last of a value split over several path levels.
pub const CONTINUATION: char = '~';

/// Extension chains the writers append to a rendered stem; `Layout::parse` strips one of them.
///
/// Longest chains come first, so stripping takes the whole chain.
pub const KNOWN_EXTENSIONS: &[&str] = &[
    ".jsonl.zst",
    ".jsonl.lz4",
    ".jsonl.gz",
    ".parquet",
    ".jsonl",
];

/// Budget for one piece of a split value, counted pessimistically (`.` as 3 bytes) and leaving
/// room for a device-name escape (+2) and the continuation marker (+1).
const PIECE_BUDGET: usize = MAX_SEGMENT_BYTES - 4;

/// Windows device names; a file named like one (with any extension) cannot be created there.
const WINDOWS_DEVICE_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
    "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Escapes a value into one path segment (see the [module docs](self) for the rules).
///
/// ```
/// use strata_core::layout::escape_segment;
///
/// assert_eq!(escape_segment("BRK.B"), "BRK.B");
/// assert_eq!(escape_segment("../x"), "%2E.%2Fx");
/// assert_eq!(escape_segment("ES H4"), "ES%20H4");
/// assert_eq!(escape_segment("CON"), "%43ON");
/// assert_eq!(escape_segment(""), "%");
/// ```
pub fn escape_segment(value: &str) -> String {
    if value.is_empty() {
        return "%".to_string();
    }
    let bytes = value.as_bytes();
    let last = bytes.len() - 1;
    let mut out = String::with_capacity(bytes.len());
    for (i, &byte) in bytes.iter().enumerate() {
        let keep =
            byte.is_ascii_alphanumeric() || byte == b'-' || (byte == b'.' && i != 0 && i != last);
        if keep {
            out.push(char::from(byte));
        } else {
            push_percent(&mut out, byte);
        }
    }
    if is_windows_device_name(&out) {
        // Device names start with an ASCII letter, so the first byte is a whole character.
        let first = out.as_bytes()[0];
        let mut encoded = String::with_capacity(out.len() + 2);
        push_percent(&mut encoded, first);
        encoded.push_str(&out[1..]);
        out = encoded;
    }
    while let Some(extension) = KNOWN_EXTENSIONS.iter().find(|ext| out.ends_with(*ext)) {
        let dot = out.len() - extension.len();
        out.replace_range(dot..=dot, "%2E");
    }
    out
}

/// Reverses [`escape_segment`].
///
/// Accepts exactly the segments [`escape_segment`] writes: a character that should have been
/// encoded, a broken or lower-case `%XX`, an escape of a character that should have stayed
/// plain (`%41` for `A`), or bytes that are not UTF-8 are errors, never a panic.
///
/// ```
/// use strata_core::layout::unescape_segment;
///
/// assert_eq!(unescape_segment("%2E.%2Fx")?, "../x");
/// assert_eq!(unescape_segment("%")?, "");
/// assert!(unescape_segment("%41").is_err(), "`A` is written plain");
/// assert!(unescape_segment("a b").is_err());
/// # Ok::<(), strata_core::layout::LayoutError>(())
/// ```
pub fn unescape_segment(segment: &str) -> Result<String, LayoutError> {
    let fail = |reason: String| LayoutError::InvalidEscape {
        segment: segment.to_string(),
        reason,
    };
    if segment == "%" {
        return Ok(String::new());
    }
    if segment.is_empty() {
        return Err(fail(
            "an empty segment; the empty value is written `%`".into(),
        ));
    }
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            let value = bytes
                .get(i + 1..i + 3)
                .and_then(|pair| Some(hex_value(pair[0])? * 16 + hex_value(pair[1])?))
                .ok_or_else(|| {
                    fail(format!(
                        "`%` at byte {i} is not followed by two hex digits (0-9, A-F)"
                    ))
                })?;
            decoded.push(value);
            i += 3;
        } else if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' {
            decoded.push(byte);
            i += 1;
        } else {
            let shown = segment
                .get(i..)
                .and_then(|rest| rest.chars().next())
                .unwrap_or('?');
            return Err(fail(format!(
                "`{}` at byte {i} must be percent-encoded",
                shown.escape_debug()
            )));
        }
    }
    let value = String::from_utf8(decoded)
        .map_err(|_| fail("its `%XX` escapes do not decode to UTF-8 text".into()))?;
    let canonical = escape_segment(&value);
    if canonical != segment {
        return Err(fail(format!(
            "not in canonical form: the value `{}` is written `{canonical}`",
            value.escape_debug()
        )));
    }
    Ok(value)
}

/// A value as one or more path segments: one escaped segment, or when that would exceed
/// [`MAX_SEGMENT_BYTES`], pieces escaped on their own with [`CONTINUATION`] on all but the last.
pub fn value_segments(value: &str) -> Vec<String> {
    let escaped = escape_segment(value);
    if escaped.len() <= MAX_SEGMENT_BYTES {
        return vec![escaped];
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut cost = 0;
    for (i, c) in value.char_indices() {
        let char_cost = if c.is_ascii_alphanumeric() || c == '-' {
            1
        } else {
            3 * c.len_utf8()
        };
        if cost + char_cost > PIECE_BUDGET {
            let mut piece = escape_segment(&value[start..i]);
            piece.push(CONTINUATION);
            pieces.push(piece);
            start = i;
            cost = 0;
        }
        cost += char_cost;
    }
    pieces.push(escape_segment(&value[start..]));
    pieces
}

/// Reverses [`value_segments`]: `pieces` are consecutive levels, all but the last ending in
/// [`CONTINUATION`]. Rejects any split other than the one [`value_segments`] makes, so one
/// value has exactly one path.
pub fn value_from_segments(pieces: &[&str]) -> Result<String, LayoutError> {
    let mut value = String::new();
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.iter().enumerate() {
        let text = if i == last {
            Some(*piece)
        } else {
            piece.strip_suffix(CONTINUATION)
        };
        let text = text.ok_or_else(|| LayoutError::InvalidEscape {
            segment: piece.to_string(),
            reason: format!("a value continued on the next level must end in `{CONTINUATION}`"),
        })?;
        value.push_str(&unescape_segment(text)?);
    }
    if value_segments(&value) != pieces {
        return Err(LayoutError::InvalidEscape {
            segment: pieces.join("/"),
            reason: format!(
                "not in canonical form: values longer than {MAX_SEGMENT_BYTES} escaped bytes \
                 are split, and only those, at fixed points"
            ),
        });
    }
    Ok(value)
}

fn push_percent(out: &mut String, byte: u8) {
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0F)]));
}

/// Hex digit value; lower case is accepted here and then refused as non-canonical.
fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

fn is_windows_device_name(segment: &str) -> bool {
    let stem = segment.split('.').next().unwrap_or(segment);
    WINDOWS_DEVICE_NAMES
        .iter()
        .any(|name| stem.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plain_symbols_readable() {
        assert_eq!(escape_segment("AAPL"), "AAPL");
        assert_eq!(escape_segment("BRK.B"), "BRK.B");
        assert_eq!(escape_segment("ES-H4"), "ES-H4");
    }

    #[test]
    fn encodes_separators_and_traversal() {
        assert_eq!(escape_segment("A/B"), "A%2FB");
        assert_eq!(escape_segment("a\\b"), "a%5Cb");
        assert_eq!(escape_segment("C:"), "C%3A");
        assert_eq!(escape_segment("."), "%2E");
        assert_eq!(escape_segment(".."), "%2E%2E");
        assert_eq!(escape_segment("../x"), "%2E.%2Fx");
        assert_eq!(escape_segment(".hidden"), "%2Ehidden");
        assert_eq!(escape_segment("trailing."), "trailing%2E");
        assert_eq!(escape_segment("a_b=c"), "a%5Fb%3Dc");
        assert_eq!(escape_segment("~"), "%7E");
        assert_eq!(escape_segment("%41"), "%2541");
        assert_eq!(escape_segment("日経225"), "%E6%97%A5%E7%B5%8C225");
    }

    #[test]
    fn encodes_windows_device_names() {
        assert_eq!(escape_segment("CON"), "%43ON");
        assert_eq!(escape_segment("con"), "%63on");
        assert_eq!(escape_segment("nul.txt"), "%6Eul.txt");
        assert_eq!(escape_segment("COM1.x"), "%43OM1.x");
        assert_eq!(escape_segment("LPT9"), "%4CPT9");
        assert_eq!(escape_segment("CONSOLE"), "CONSOLE");
        assert_eq!(escape_segment("COM10"), "COM10");
    }

    #[test]
    fn never_ends_in_a_known_extension() {
        assert_eq!(escape_segment("X.jsonl"), "X%2Ejsonl");
        assert_eq!(escape_segment("X.jsonl.gz"), "X%2Ejsonl.gz");
        assert_eq!(escape_segment("X.parquet"), "X%2Eparquet");
        assert_eq!(escape_segment("X.gz"), "X.gz");
        for value in ["X.jsonl", "X.jsonl.gz", "a.jsonl.zst", "b.parquet"] {
            let escaped = escape_segment(value);
            assert!(
                KNOWN_EXTENSIONS.iter().all(|ext| !escaped.ends_with(ext)),
                "{escaped}"
            );
            assert_eq!(unescape_segment(&escaped).unwrap(), value);
        }
    }

    #[test]
    fn empty_value_is_a_lone_percent() {
        assert_eq!(escape_segment(""), "%");
        assert_eq!(unescape_segment("%").unwrap(), "");
    }

    #[test]
    fn rejects_bad_escapes_with_the_segment_named() {
        for (segment, needle) in [
            ("", "empty segment"),
            ("%4", "two hex digits"),
            ("%G1", "two hex digits"),
            ("a%", "two hex digits"),
            ("a b", "must be percent-encoded"),
            ("a_b", "must be percent-encoded"),
            ("日", "must be percent-encoded"),
            ("%41", "canonical"),
            ("%2f", "canonical"),
            (".x", "canonical"),
            ("CON", "canonical"),
            ("%FF", "UTF-8"),
            ("X.jsonl", "canonical"),
        ] {
            let err = unescape_segment(segment).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(&format!("`{segment}`")), "{message}");
            assert!(message.contains(needle), "{segment}: {message}");
        }
    }

    #[test]
    fn long_values_split_into_short_pieces_and_join_back() {
        let value = "日".repeat(300) + &"A.".repeat(200);
        let pieces = value_segments(&value);
        assert!(pieces.len() > 1);
        let (last, head) = pieces.split_last().unwrap();
        assert!(head.iter().all(|p| p.ends_with(CONTINUATION)));
        assert!(!last.ends_with(CONTINUATION));
        assert!(pieces
            .iter()
            .all(|p| !p.is_empty() && p.len() <= MAX_SEGMENT_BYTES));
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        assert_eq!(value_from_segments(&refs).unwrap(), value);
    }

    #[test]
    fn short_values_are_never_split() {
        let value = "A".repeat(MAX_SEGMENT_BYTES);
        assert_eq!(value_segments(&value), vec![value.clone()]);
        let forged = [format!("{}~", &value[..100]), value[100..].to_string()];
        let refs: Vec<&str> = forged.iter().map(String::as_str).collect();
        let err = value_from_segments(&refs).unwrap_err();
        assert!(err.to_string().contains("canonical"), "{err}");
    }
}
