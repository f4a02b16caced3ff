//! Durations, read exactly as Go and Vault/OpenBao read them. Every duration blastmap parses
//! goes through here.
//!
//! There are two syntaxes, named by [`DurationSyntax`]:
//!
//! * [`DurationSyntax::Go`]: Go's `time.ParseDuration`: a possibly signed sequence of decimal
//!   numbers, each with an optional fraction and a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`,
//!   `h`), e.g. `300ms`, `-1.5h`, `2h45m`; or `0`. No bare numbers, no days.
//! * [`DurationSyntax::VaultSeconds`]: go-secure-stdlib's `parseutil.ParseDurationSecond`
//!   (v0.2.0, the version OpenBao pins) on a string: `""` is zero, a base-10 integer is seconds,
//!   `<integer>d` is days, anything else is Go's syntax; a product that overflows is an error
//!   (older versions wrapped). The server reads every TTL written to it this way: policy
//!   `min_wrapping_ttl`/`max_wrapping_ttl` and control-group `ttl`, `time.now.plus.<dur>` in
//!   identity templates, role and mount TTLs.
//!
//! Numbers go through [`GoDuration::from_seconds_value`], the rest of `ParseDurationSecond`.
//! The value is a [`GoDuration`] (nanoseconds, as Go's `time.Duration`); the snapshot and the
//! inventory keep whole seconds ([`GoDuration::whole_seconds`]). Errors print exactly as Go's,
//! because identity templates and policies report them to the user as the server would.

use std::fmt::Write as _;

use crate::hcl1::{parse_int, IntBase, NumError};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;
/// 2^63, the bound Go's parser checks its unsigned accumulator against.
const LIMIT: u64 = 1 << 63;

/// Go's `time.Duration`: signed nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(i64);

/// Which syntax a duration string is read with (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationSyntax {
    /// Go's `time.ParseDuration`.
    Go,
    /// go-secure-stdlib `parseutil.ParseDurationSecond` on a string.
    VaultSeconds,
}

/// A value `parseutil.ParseDurationSecond` is handed, by the kind it switches on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SecondsValue<'a> {
    /// `nil`: zero.
    Absent,
    /// A string, read with [`DurationSyntax::VaultSeconds`].
    Text(&'a str),
    /// An integer number of seconds.
    Integer(i64),
    /// A float number of seconds; Go converts it to a `Duration` (truncating) before scaling.
    Float(f64),
    /// Any other kind (a list, a map, a boolean): refused.
    Other,
}

/// Why a duration did not parse; `Display` is Go's error text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not Go's syntax, or out of the range of a `time.Duration`.
    #[error("time: invalid duration {}", time_quote(.text))]
    Invalid { text: String },
    #[error("time: missing unit in duration {}", time_quote(.text))]
    MissingUnit { text: String },
    #[error("time: unknown unit {} in duration {}", time_quote(.unit), time_quote(.text))]
    UnknownUnit { unit: String, text: String },
    /// The number before a `d` suffix is not a base-10 integer (Go's `strconv` error).
    #[error(transparent)]
    Days(#[from] NumError),
    /// `parseutil.ErrDurationMultiplicationOverflow`: seconds or days too large.
    #[error("multiplication of durations resulted in overflow, one operand may be too large")]
    MultiplicationOverflow,
    /// [`SecondsValue::Other`].
    #[error("could not parse duration from input")]
    UnsupportedInput,
}

impl GoDuration {
    pub const ZERO: GoDuration = GoDuration(0);

    pub const fn from_nanos(nanos: i64) -> GoDuration {
        GoDuration(nanos)
    }

    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds, truncated toward zero (`int64(d / time.Second)`).
    pub const fn whole_seconds(self) -> i64 {
        self.0 / NANOS_PER_SECOND
    }

    /// Go's `-d`: wraps, so the negation of the most negative duration is itself.
    pub const fn wrapping_neg(self) -> GoDuration {
        GoDuration(self.0.wrapping_neg())
    }

    /// Read `text` in `syntax`.
    pub fn parse(text: &str, syntax: DurationSyntax) -> Result<GoDuration, DurationError> {
        match syntax {
            DurationSyntax::Go => parse_go(text),
            DurationSyntax::VaultSeconds => parse_vault_seconds(text),
        }
    }

    /// `parseutil.ParseDurationSecond` on any value.
    pub fn from_seconds_value(value: SecondsValue<'_>) -> Result<GoDuration, DurationError> {
        match value {
            SecondsValue::Absent => Ok(GoDuration::ZERO),
            SecondsValue::Text(text) => parse_vault_seconds(text),
            SecondsValue::Integer(seconds) => scale(seconds, NANOS_PER_SECOND),
            // `as` saturates where Go's conversion is undefined; both then overflow the product.
            SecondsValue::Float(seconds) => scale(seconds as i64, NANOS_PER_SECOND),
            SecondsValue::Other => Err(DurationError::UnsupportedInput),
        }
    }
}

/// `parseutil`'s `overflowMul`.
fn scale(count: i64, unit_nanos: i64) -> Result<GoDuration, DurationError> {
    count
        .checked_mul(unit_nanos)
        .map(GoDuration)
        .ok_or(DurationError::MultiplicationOverflow)
}

fn parse_vault_seconds(text: &str) -> Result<GoDuration, DurationError> {
    if text.is_empty() {
        return Ok(GoDuration::ZERO);
    }
    if let Ok(seconds) = parse_int(text, IntBase::Decimal) {
        return scale(seconds, NANOS_PER_SECOND);
    }
    if let Some(days) = text.strip_suffix('d') {
        return scale(parse_int(days, IntBase::Decimal)?, NANOS_PER_DAY);
    }
    parse_go(text)
}

/// One `<number><unit>` term of a Go duration: the integer part, the fraction digits as an
/// integer and their scale (`value = integer + fraction / scale`).
struct Term {
    integer: u64,
    fraction: u64,
    scale: f64,
}

fn parse_go(original: &str) -> Result<GoDuration, DurationError> {
    let invalid = || DurationError::Invalid {
        text: original.to_string(),
    };
    let (negative, mut rest) = match original.as_bytes().first() {
        Some(b'-') => (true, &original[1..]),
        Some(b'+') => (false, &original[1..]),
        _ => (false, original),
    };
    if rest == "0" {
        return Ok(GoDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (term, after_number) = leading_number(rest).ok_or_else(invalid)?;
        let (unit_nanos, after_unit) = leading_unit(after_number, original)?;
        rest = after_unit;
        total = add_term(total, &term, unit_nanos).ok_or_else(invalid)?;
    }
    if negative {
        // -Duration(d): 2^63 becomes math.MinInt64.
        return Ok(GoDuration((total as i64).wrapping_neg()));
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(GoDuration(total as i64))
}

/// The number at the start of `text` and what follows it; `None` when there is none (or its
/// integer part exceeds 2^63), which Go reports as an invalid duration.
fn leading_number(text: &str) -> Option<(Term, &str)> {
    let first = *text.as_bytes().first()?;
    if !(first == b'.' || first.is_ascii_digit()) {
        return None;
    }
    let (integer, after_integer) = leading_int(text)?;
    let has_integer = after_integer.len() != text.len();
    let mut term = Term {
        integer,
        fraction: 0,
        scale: 1.0,
    };
    let mut rest = after_integer;
    let mut has_fraction = false;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let (fraction, scale, after_fraction) = leading_fraction(after_dot);
        has_fraction = after_fraction.len() != after_dot.len();
        (term.fraction, term.scale, rest) = (fraction, scale, after_fraction);
    }
    if !has_integer && !has_fraction {
        return None;
    }
    Some((term, rest))
}

/// The unit at the start of `text` (up to the next `.` or digit) in nanoseconds, and the rest.
fn leading_unit<'t>(text: &'t str, original: &str) -> Result<(u64, &'t str), DurationError> {
    // Both delimiters are ASCII, so the end is a character boundary.
    let end = text
        .bytes()
        .position(|byte| byte == b'.' || byte.is_ascii_digit())
        .unwrap_or(text.len());
    if end == 0 {
        return Err(DurationError::MissingUnit {
            text: original.to_string(),
        });
    }
    let (unit, rest) = text.split_at(end);
    let nanos: u64 = match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_string(),
                text: original.to_string(),
            })
        }
    };
    Ok((nanos, rest))
}

/// `total + term × unit` as Go's parser computes it; `None` past 2^63.
fn add_term(total: u64, term: &Term, unit_nanos: u64) -> Option<u64> {
    if term.integer > LIMIT / unit_nanos {
        return None;
    }
    let mut value = term.integer * unit_nanos;
    if term.fraction > 0 {
        // Go computes the fraction in float64 and truncates.
        value += (term.fraction as f64 * (unit_nanos as f64 / term.scale)) as u64;
        if value > LIMIT {
            return None;
        }
    }
    // uint64 arithmetic as in Go: 2^63 + 2^63 wraps to 0 and is then accepted.
    let sum = total.wrapping_add(value);
    (sum <= LIMIT).then_some(sum)
}

/// Go's `leadingInt`: the leading `[0-9]*` as u64; `None` when it exceeds 2^63.
fn leading_int(text: &str) -> Option<(u64, &str)> {
    let mut value: u64 = 0;
    let mut length = 0;
    for byte in text.bytes() {
        if !byte.is_ascii_digit() {
            break;
        }
        if value > LIMIT / 10 {
            return None;
        }
        value = value * 10 + u64::from(byte - b'0');
        if value > LIMIT {
            return None;
        }
        length += 1;
    }
    Some((value, &text[length..]))
}

/// Go's `leadingFraction`: value and scale of the leading `[0-9]*`, silently dropping digits
/// past the precision of a u64.
fn leading_fraction(text: &str) -> (u64, f64, &str) {
    let mut value: u64 = 0;
    let mut scale = 1.0f64;
    let mut overflow = false;
    let mut length = 0;
    for byte in text.bytes() {
        if !byte.is_ascii_digit() {
            break;
        }
        length += 1;
        if overflow {
            continue;
        }
        if value > (LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let next = value * 10 + u64::from(byte - b'0');
        if next > LIMIT {
            overflow = true;
            continue;
        }
        value = next;
        scale *= 10.0;
    }
    (value, scale, &text[length..])
}

/// The `time` package's private `quote`: `"` and `\` escaped, every byte of a non-ASCII or
/// control character written as `\xNN`.
fn time_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        if !(' '..'\u{80}').contains(&character) {
            let mut buffer = [0u8; 4];
            for byte in character.encode_utf8(&mut buffer).bytes() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        } else {
            if character == '"' || character == '\\' {
                out.push('\\');
            }
            out.push(character);
        }
    }
    out.push('"');
    out
}

/// Whole seconds in the short form blastmap writes durations in (`1200` → `20m`, `5430` →
/// `1h30m30s`, `0` → `0s`), which [`DurationSyntax::VaultSeconds`] reads back.
pub fn format_seconds(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".to_string();
    }
    let parts = [
        (seconds / 3600, "h"),
        ((seconds % 3600) / 60, "m"),
        (seconds % 60, "s"),
    ];
    let mut out = String::new();
    for (count, unit) in parts {
        if count > 0 {
            let _ = write!(out, "{count}{unit}");
        }
    }
    out
}

#[cfg(test)]
mod tests;
