//! Durations and times as Vault parses them in policies.
//!
//! `min_wrapping_ttl`/`max_wrapping_ttl` go through go-secure-stdlib's `ParseDurationSecond`
//! (integers are seconds, strings may be `"300"`, `"2d"` or a Go duration such as `"1h30m"`), and
//! `expiration` through `ParseAbsoluteTime` (RFC 3339, or unix seconds as a string). Reproducing
//! their exact acceptance matters: a policy the server refuses must be refused here too.

use crate::hcl1::decode::Value;

/// Nanoseconds, as Go's `time.Duration`.
pub type Nanos = i64;

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
pub fn parse_go_duration(orig: &str) -> Result<Nanos, String> {
    let invalid = || format!("time: invalid duration \"{orig}\"");
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        let c = s.as_bytes()[0];
        if !(c == b'.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part.
        let before = s.len();
        let (v, rest) = leading_int(s).ok_or_else(invalid)?;
        let mut v = v;
        s = rest;
        let pre = before != s.len();
        // Fraction.
        let mut post = false;
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            let before = s.len();
            let (ff, sc, rest) = leading_fraction(s);
            f = ff;
            scale = sc;
            s = rest;
            post = before != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        // Unit.
        let i = s
            .bytes()
            .position(|b| b == b'.' || b.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(format!("time: missing unit in duration \"{orig}\""));
        }
        let u = &s[..i];
        s = &s[i..];
        let unit = match u {
            "ns" => NS,
            "us" | "\u{b5}s" | "\u{3bc}s" => US,
            "ms" => MS,
            "s" => SEC,
            "m" => 60 * SEC,
            "h" => 3600 * SEC,
            _ => return Err(format!("time: unknown unit \"{u}\" in duration \"{orig}\"")),
        };
        if v > (1u64 << 63) / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > 1u64 << 63 {
                return Err(invalid());
            }
        }
        d = d.checked_add(v).ok_or_else(invalid)?;
        if d > 1u64 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i128).wrapping_neg() as i64);
    }
    if d > (1u64 << 63) - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

fn leading_int(s: &str) -> Option<(u64, &str)> {
    let mut x: u64 = 0;
    let mut i = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        if x > (1u64 << 63) / 10 {
            return None;
        }
        x = x * 10 + (b - b'0') as u64;
        if x > 1u64 << 63 {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let mut x: u64 = 0;
    let mut scale = 1.0;
    let mut overflow = false;
    let mut i = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        i += 1;
        if overflow {
            continue;
        }
        if x > ((1u64 << 63) - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + (b - b'0') as u64;
        if y > 1u64 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[i..])
}

/// go-secure-stdlib `parseutil.ParseDurationSecond` on a value decoded from HCL or JSON.
pub fn parse_duration_second(v: &Value) -> Result<Nanos, String> {
    match v {
        Value::Nil => Ok(0),
        Value::String(s) => {
            if s.is_empty() {
                return Ok(0);
            }
            if let Ok(n) = s.parse::<i64>() {
                return Ok(n.wrapping_mul(SEC as i64));
            }
            if let Some(days) = s.strip_suffix('d') {
                return match days.parse::<i64>() {
                    Ok(n) => Ok(n.wrapping_mul(24 * 3600 * SEC as i64)),
                    Err(_) => Err(format!(
                        "strconv.ParseInt: parsing \"{days}\": invalid syntax"
                    )),
                };
            }
            parse_go_duration(s)
        }
        Value::Int(i) => Ok(i.wrapping_mul(SEC as i64)),
        // Go converts the float to a Duration (truncating) before scaling by a second.
        Value::Float(f) => Ok((*f as i64).wrapping_mul(SEC as i64)),
        _ => Err("could not parse duration from input".to_string()),
    }
}

/// go-secure-stdlib `parseutil.ParseAbsoluteTime` on a string: RFC 3339 (with or without
/// fractional seconds) or unix seconds. Returns unix nanoseconds.
pub fn parse_absolute_time(s: &str) -> Result<i128, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t.unix_timestamp_nanos());
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs as i128 * 1_000_000_000);
    }
    Err("could not parse string as date and time".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h").unwrap(), 3600 * SEC as i64);
        assert_eq!(parse_go_duration("1h30m").unwrap(), 5400 * SEC as i64);
        assert_eq!(parse_go_duration("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse_go_duration("-5m").unwrap(), -300 * SEC as i64);
        assert_eq!(parse_go_duration("0").unwrap(), 0);
        assert_eq!(parse_go_duration(".5ms").unwrap(), 500_000);
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("abc").is_err());
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("1d").is_err());
        assert!(parse_go_duration(".s").is_err());
        assert!(parse_go_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn duration_second() {
        let s = |x: &str| parse_duration_second(&Value::String(x.into()));
        assert_eq!(s("300").unwrap(), 300 * SEC as i64);
        assert_eq!(s("2d").unwrap(), 2 * 86400 * SEC as i64);
        assert_eq!(s("1h").unwrap(), 3600 * SEC as i64);
        assert_eq!(s("").unwrap(), 0);
        assert!(s("abc").is_err());
        assert!(s("xd").is_err());
        assert_eq!(
            parse_duration_second(&Value::Int(5)).unwrap(),
            5 * SEC as i64
        );
        assert_eq!(
            parse_duration_second(&Value::Float(1.9)).unwrap(),
            SEC as i64
        );
        assert!(parse_duration_second(&Value::Bool(true)).is_err());
    }

    #[test]
    fn absolute_times() {
        assert!(parse_absolute_time("2030-01-02T03:04:05Z").is_ok());
        assert!(parse_absolute_time("2030-01-02T03:04:05.123+02:00").is_ok());
        assert_eq!(
            parse_absolute_time("1700000000").unwrap(),
            1_700_000_000_000_000_000
        );
        assert!(parse_absolute_time("not-a-time").is_err());
    }
}
