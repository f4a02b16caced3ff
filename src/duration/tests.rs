//! Vectors of Go's `time.ParseDuration` and `parseutil.ParseDurationSecond` (values and error
//! texts as Go prints them), and properties over generated input.

use proptest::prelude::*;

use super::*;

const SECOND: i64 = 1_000_000_000;

fn go(text: &str) -> Result<i64, String> {
    GoDuration::parse(text, DurationSyntax::Go)
        .map(GoDuration::as_nanos)
        .map_err(|e| e.to_string())
}

fn vault(text: &str) -> Result<i64, String> {
    GoDuration::parse(text, DurationSyntax::VaultSeconds)
        .map(GoDuration::as_nanos)
        .map_err(|e| e.to_string())
}

fn value(input: SecondsValue<'_>) -> Result<i64, String> {
    GoDuration::from_seconds_value(input)
        .map(GoDuration::as_nanos)
        .map_err(|e| e.to_string())
}

#[test]
fn go_syntax_values() {
    assert_eq!(go("0"), Ok(0));
    assert_eq!(go("+0"), Ok(0));
    assert_eq!(go("-0"), Ok(0));
    assert_eq!(go("0s"), Ok(0));
    assert_eq!(go("-0s"), Ok(0));
    assert_eq!(go("1h"), Ok(3600 * SECOND));
    assert_eq!(go("1h30m"), Ok(5400 * SECOND));
    assert_eq!(go("1h1h"), Ok(7200 * SECOND));
    assert_eq!(go("1h2m3s4ms5us6ns"), Ok(3_723_004_005_006));
    assert_eq!(go("1us"), Ok(1_000));
    assert_eq!(go("1\u{b5}s"), Ok(1_000));
    assert_eq!(go("1\u{3bc}s"), Ok(1_000));
    assert_eq!(go("-5m"), Ok(-300 * SECOND));
    assert_eq!(go("-1.5h"), Ok(-5_400 * SECOND));
    assert_eq!(go("1.5s"), Ok(1_500_000_000));
    assert_eq!(go(".5s"), Ok(500_000_000));
    assert_eq!(go(".5ms"), Ok(500_000));
    assert_eq!(go("5.s"), Ok(5 * SECOND));
    assert_eq!(go("0.000000001s"), Ok(1));
    assert_eq!(go("0.0000000001s"), Ok(0));
    // Fraction digits past u64 precision are dropped, not an error.
    assert_eq!(go("1.00000000000000000000000001s"), Ok(SECOND));
    assert_eq!(go("9223372036854775807ns"), Ok(i64::MAX));
    assert_eq!(go("2562047h47m16.854775807s"), Ok(i64::MAX));
    assert_eq!(go("-9223372036854775808ns"), Ok(i64::MIN));
    // uint64 wrap in Go's accumulator: 2^63 + 2^63 == 0.
    assert_eq!(go("9223372036854775808ns9223372036854775808ns"), Ok(0));
}

#[test]
fn go_syntax_errors() {
    let invalid = |text: &str| Err(format!("time: invalid duration {text:?}"));
    assert_eq!(go(""), invalid(""));
    assert_eq!(go("-"), invalid("-"));
    assert_eq!(go("+"), invalid("+"));
    assert_eq!(go("abc"), invalid("abc"));
    assert_eq!(go(".s"), invalid(".s"));
    assert_eq!(go("--1s"), invalid("--1s"));
    // The unit runs to the next digit or `.`, so a sign inside is part of it.
    assert_eq!(
        go("1h-1m"),
        Err("time: unknown unit \"h-\" in duration \"1h-1m\"".into())
    );
    assert_eq!(
        go("9223372036854775808ns"),
        invalid("9223372036854775808ns")
    );
    assert_eq!(go("3000000h"), invalid("3000000h"));
    assert_eq!(
        go("99999999999999999999h"),
        invalid("99999999999999999999h")
    );
    assert_eq!(
        go("99999999999999999999ns"),
        invalid("99999999999999999999ns")
    );
    assert_eq!(
        go("2562047h47m16.854775808s"),
        invalid("2562047h47m16.854775808s")
    );
    assert_eq!(go("1"), Err("time: missing unit in duration \"1\"".into()));
    assert_eq!(
        go("10"),
        Err("time: missing unit in duration \"10\"".into())
    );
    assert_eq!(
        go("1h1"),
        Err("time: missing unit in duration \"1h1\"".into())
    );
    assert_eq!(
        go("1d"),
        Err("time: unknown unit \"d\" in duration \"1d\"".into())
    );
    assert_eq!(
        go("1e3s"),
        Err("time: unknown unit \"e\" in duration \"1e3s\"".into())
    );
    assert_eq!(
        go("1 h"),
        Err("time: unknown unit \" h\" in duration \"1 h\"".into())
    );
    // The `time` package quotes non-ASCII and control characters byte by byte.
    assert_eq!(
        go("1\u{b5}x"),
        Err("time: unknown unit \"\\xc2\\xb5x\" in duration \"1\\xc2\\xb5x\"".into())
    );
    assert_eq!(
        go("1\"\\"),
        Err("time: unknown unit \"\\\"\\\\\" in duration \"1\\\"\\\\\"".into())
    );
    assert_eq!(
        time_quote("a\"µ\u{1}\u{7f}"),
        "\"a\\\"\\xc2\\xb5\\x01\u{7f}\""
    );
}

#[test]
fn vault_seconds_syntax() {
    assert_eq!(vault(""), Ok(0));
    assert_eq!(vault("0"), Ok(0));
    assert_eq!(vault("-0"), Ok(0));
    assert_eq!(vault("300"), Ok(300 * SECOND));
    assert_eq!(vault("+90"), Ok(90 * SECOND));
    assert_eq!(vault("-5"), Ok(-5 * SECOND));
    assert_eq!(vault("2d"), Ok(2 * 86_400 * SECOND));
    assert_eq!(vault("-1d"), Ok(-86_400 * SECOND));
    assert_eq!(vault("1h"), Ok(3_600 * SECOND));
    assert_eq!(vault("1.5h"), Ok(5_400 * SECOND));
    assert_eq!(vault("1500ms"), Ok(1_500_000_000));
    assert_eq!(vault("1h1h"), Ok(7_200 * SECOND));
    // Days only as `<integer>d`, never as a unit among others.
    assert_eq!(
        vault("1d12h"),
        Err("time: unknown unit \"d\" in duration \"1d12h\"".into())
    );
    assert_eq!(
        vault("1.5d"),
        Err("strconv.ParseInt: parsing \"1.5\": invalid syntax".into())
    );
    assert_eq!(
        vault("xd"),
        Err("strconv.ParseInt: parsing \"x\": invalid syntax".into())
    );
    assert_eq!(
        vault("d"),
        Err("strconv.ParseInt: parsing \"\": invalid syntax".into())
    );
    assert_eq!(
        vault("-d"),
        Err("strconv.ParseInt: parsing \"-\": invalid syntax".into())
    );
    assert_eq!(
        vault("9223372036854775808d"),
        Err("strconv.ParseInt: parsing \"9223372036854775808\": value out of range".into())
    );
    assert_eq!(
        vault("-9223372036854775809d"),
        Err("strconv.ParseInt: parsing \"-9223372036854775809\": value out of range".into())
    );
    // Not an integer (underscores, out of range): Go's syntax decides.
    assert_eq!(
        vault("1_000"),
        Err("time: unknown unit \"_\" in duration \"1_000\"".into())
    );
    assert_eq!(
        vault("9223372036854775808"),
        Err("time: missing unit in duration \"9223372036854775808\"".into())
    );
    assert_eq!(vault("abc"), Err("time: invalid duration \"abc\"".into()));
    // parseutil v0.2.0 refuses products that overflow (older versions wrapped).
    let overflow = "multiplication of durations resulted in overflow, one operand may be too large";
    assert_eq!(vault("10000000000"), Err(overflow.into()));
    assert_eq!(vault("-10000000000"), Err(overflow.into()));
    assert_eq!(vault("106752d"), Err(overflow.into()));
    assert_eq!(vault("9223372036"), Ok(9_223_372_036 * SECOND));
    assert_eq!(vault("106751d"), Ok(106_751 * 86_400 * SECOND));
}

#[test]
fn seconds_values() {
    let overflow = "multiplication of durations resulted in overflow, one operand may be too large";
    assert_eq!(value(SecondsValue::Absent), Ok(0));
    assert_eq!(value(SecondsValue::Text("2d")), Ok(2 * 86_400 * SECOND));
    assert_eq!(value(SecondsValue::Integer(5)), Ok(5 * SECOND));
    assert_eq!(value(SecondsValue::Integer(-5)), Ok(-5 * SECOND));
    assert_eq!(
        value(SecondsValue::Integer(10_000_000_000)),
        Err(overflow.into())
    );
    assert_eq!(value(SecondsValue::Float(1.9)), Ok(SECOND));
    assert_eq!(value(SecondsValue::Float(-1.9)), Ok(-SECOND));
    assert_eq!(value(SecondsValue::Float(1e10)), Err(overflow.into()));
    assert_eq!(value(SecondsValue::Float(1e300)), Err(overflow.into()));
    assert_eq!(
        value(SecondsValue::Other),
        Err("could not parse duration from input".into())
    );
}

#[test]
fn whole_seconds_truncate_toward_zero() {
    assert_eq!(GoDuration::from_nanos(1_999_999_999).whole_seconds(), 1);
    assert_eq!(GoDuration::from_nanos(-1_999_999_999).whole_seconds(), -1);
    assert_eq!(
        GoDuration::from_nanos(i64::MIN).wrapping_neg().as_nanos(),
        i64::MIN
    );
}

#[test]
fn short_form() {
    assert_eq!(format_seconds(0), "0s");
    assert_eq!(format_seconds(90), "1m30s");
    assert_eq!(format_seconds(1200), "20m");
    assert_eq!(format_seconds(5430), "1h30m30s");
    assert_eq!(format_seconds(172_800), "48h");
}

/// Units of Go's syntax with their length in nanoseconds.
const UNITS: [(&str, i128); 8] = [
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ns", 1),
];

proptest! {
    #[test]
    fn never_panics(text in "\\PC{0,24}", ascii in "[-+.0-9a-z\u{b5}\u{3bc}]{0,24}") {
        for syntax in [DurationSyntax::Go, DurationSyntax::VaultSeconds] {
            let _ = GoDuration::parse(&text, syntax);
            let _ = GoDuration::parse(&ascii, syntax);
        }
    }

    /// A sum of integer terms equals the arithmetic sum, or is invalid when Go's parser would
    /// overflow: a term or a running total past 2^63, or a positive total past i64::MAX.
    #[test]
    fn integer_terms_add_up(
        negative in any::<bool>(),
        terms in proptest::collection::vec((0usize..UNITS.len(), 0u64..=u64::MAX >> 1), 1..4),
        small in any::<bool>(),
    ) {
        let mut text = String::from(if negative { "-" } else { "" });
        let mut total: i128 = 0;
        let mut overflowed = false;
        for (unit_index, count) in &terms {
            let (unit, nanos) = UNITS[*unit_index];
            let count = if small { count % 100_000 } else { *count };
            text.push_str(&format!("{count}{unit}"));
            let term = i128::from(count) * nanos;
            overflowed |= term > 1i128 << 63;
            total += term;
            overflowed |= total > 1i128 << 63;
        }
        let parsed = GoDuration::parse(&text, DurationSyntax::Go);
        if overflowed || (!negative && total > i128::from(i64::MAX)) {
            prop_assert_eq!(parsed, Err(DurationError::Invalid { text }));
        } else {
            let expected = if negative { -total } else { total };
            prop_assert_eq!(parsed.map(GoDuration::as_nanos), Ok(expected as i64));
        }
    }

    /// Up to nine fraction digits of a second are exact.
    #[test]
    fn fractions_of_a_second(whole in 0i64..1_000_000, digits in "[0-9]{1,9}") {
        let fraction: i64 = digits.parse().unwrap();
        let expected = whole * SECOND + fraction * 10i64.pow(9 - digits.len() as u32);
        prop_assert_eq!(go(&format!("{whole}.{digits}s")), Ok(expected));
        prop_assert_eq!(go(&format!("-{whole}.{digits}s")), Ok(-expected));
    }

    /// A sign in front negates, wrapping as Go does.
    #[test]
    fn sign_negates(text in "[0-9]{1,5}(\\.[0-9]{0,4})?(h|m|s|ms|us|ns)([0-9]{1,5}(h|m|s))?") {
        let plain = GoDuration::parse(&text, DurationSyntax::Go).unwrap();
        let minus = GoDuration::parse(&format!("-{text}"), DurationSyntax::Go).unwrap();
        let plus = GoDuration::parse(&format!("+{text}"), DurationSyntax::Go).unwrap();
        prop_assert_eq!(minus, plain.wrapping_neg());
        prop_assert_eq!(plus, plain);
    }

    /// Integers are seconds and `<integer>d` days, refused when the product overflows.
    #[test]
    fn vault_integers(count in any::<i64>()) {
        let scaled = |unit: i64| {
            count
                .checked_mul(unit)
                .map(GoDuration::from_nanos)
                .ok_or(DurationError::MultiplicationOverflow)
        };
        let seconds = GoDuration::parse(&count.to_string(), DurationSyntax::VaultSeconds);
        prop_assert_eq!(seconds, scaled(SECOND));
        let days = GoDuration::parse(&format!("{count}d"), DurationSyntax::VaultSeconds);
        prop_assert_eq!(days, scaled(86_400 * SECOND));
    }

    /// The short form reads back as the same number of seconds.
    #[test]
    fn short_form_reads_back(seconds in 0i64..=9_223_372_036) {
        let text = format_seconds(seconds);
        let parsed = GoDuration::parse(&text, DurationSyntax::VaultSeconds).unwrap();
        prop_assert_eq!(parsed.whole_seconds(), seconds);
        prop_assert_eq!(parsed.as_nanos() % SECOND, 0);
    }
}
