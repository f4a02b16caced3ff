//! OpenBao's `token_policies_template_claims`: every token policy name of a JWT role is a Go
//! `text/template` executed over the token's claims with `missingkey=error`
//! (`internal/builtin/credential/jwt/path_role.go`, `maybeTemplatePolicies`).
//!
//! Evaluated here: literal text and actions that are a plain field chain (`{{ .repository }}`,
//! `{{.ctx.org}}`, with `{{-`/`-}}` trimming), printed the way Go's `fmt` prints strings, booleans
//! and float64 numbers. Anything else (functions, pipelines, `{{ . }}`, list or object values) is
//! reported as unsupported, so the caller can list the policy as unknown.

use serde_json::{Map, Value};

/// The outcome of one policy template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOutcome {
    /// The rendered policy name (may be empty: the server then drops it).
    Rendered(String),
    /// Execution fails on the server (missing key, field of a non-object …): the login fails.
    Fails(String),
    /// Not evaluated offline; the reason.
    Unsupported(String),
}

/// Render `tpl` over `claims` as `text/template` with `missingkey=error` would.
pub fn render(tpl: &str, claims: &Map<String, Value>) -> TemplateOutcome {
    let mut out = String::new();
    let mut rest = tpl;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return TemplateOutcome::Unsupported(format!("unclosed action in {tpl:?}"));
        };
        let mut body = &after[..close];
        // `{{- ` trims the text before, ` -}}` the text after (Go requires the space).
        if let Some(b) = body.strip_prefix("- ") {
            text = text.trim_end();
            body = b;
        }
        trim_next = false;
        if let Some(b) = body.strip_suffix(" -") {
            trim_next = true;
            body = b;
        }
        out.push_str(text);
        match eval_action(body.trim(), claims) {
            Ok(s) => out.push_str(&s),
            Err(o) => return o,
        }
        rest = &after[close + 2..];
    }
    if trim_next {
        rest = rest.trim_start();
    }
    out.push_str(rest);
    TemplateOutcome::Rendered(out)
}

fn eval_action(body: &str, claims: &Map<String, Value>) -> Result<String, TemplateOutcome> {
    let unsupported = || {
        TemplateOutcome::Unsupported(format!(
            "template action {{{{{body}}}}} is not a plain field reference"
        ))
    };
    let Some(chain) = body.strip_prefix('.') else {
        return Err(unsupported());
    };
    if chain.is_empty() {
        return Err(unsupported());
    }
    let fields: Vec<&str> = chain.split('.').collect();
    if !fields.iter().all(|f| is_identifier(f)) {
        return Err(unsupported());
    }
    let mut cur: Option<&Value> = None;
    let mut map = claims;
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            match cur {
                Some(Value::Object(m)) => map = m,
                Some(Value::Null) | None => {
                    return Err(TemplateOutcome::Fails(format!(
                        "nil value evaluating .{}",
                        fields[..i].join(".")
                    )))
                }
                Some(_) => {
                    return Err(TemplateOutcome::Fails(format!(
                        "can't evaluate field {f} of a non-object claim .{}",
                        fields[..i].join(".")
                    )))
                }
            }
        }
        match map.get(*f) {
            Some(v) => cur = Some(v),
            None => {
                return Err(TemplateOutcome::Fails(format!(
                    "map has no entry for key {f:?} (claim .{} is missing)",
                    fields[..=i].join(".")
                )))
            }
        }
    }
    match cur {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(Value::Number(n)) => Ok(go_format_float(n.as_f64().unwrap_or(0.0))),
        Some(Value::Null) | None => Ok("<no value>".to_owned()),
        Some(_) => Err(TemplateOutcome::Unsupported(format!(
            "template action {{{{{body}}}}} prints a list or object claim"
        ))),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Go's `fmt.Sprint(float64)`: `strconv.FormatFloat(f, 'g', -1, 64)`, i.e. the shortest digits
/// that round-trip, in `%e` form when the exponent is < -4 or >= 6 (`1e+06`, `1.5e-07`), else
/// plain (`123456`, `0.001`).
pub fn go_format_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let scientific = format!("{:e}", f.abs());
    let (mant, exp) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if !(-4..6).contains(&exp) {
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        format!(
            "{sign}{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else if exp >= 0 {
        let int_digits = exp as usize + 1;
        if digits.len() <= int_digits {
            format!("{sign}{digits}{}", "0".repeat(int_digits - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..int_digits], &digits[int_digits..])
        }
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> Map<String, Value> {
        json!({
            "repository_owner": "acme",
            "ctx": {"org": "Acme", "n": 7},
            "flag": true,
            "num": 1234567,
            "nul": null,
            "list": ["a"]
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn renders_field_chains() {
        let c = claims();
        assert_eq!(
            render("ci-{{.repository_owner}}", &c),
            TemplateOutcome::Rendered("ci-acme".into())
        );
        assert_eq!(
            render("{{ .ctx.org }}-{{.ctx.n}}-{{.flag}}", &c),
            TemplateOutcome::Rendered("Acme-7-true".into())
        );
        assert_eq!(
            render("n{{.num}}", &c),
            TemplateOutcome::Rendered("n1.234567e+06".into())
        );
        assert_eq!(
            render("a  {{- .flag -}}  b", &c),
            TemplateOutcome::Rendered("atrueb".into())
        );
        assert_eq!(
            render("static", &c),
            TemplateOutcome::Rendered("static".into())
        );
        assert_eq!(
            render("{{.nul}}", &c),
            TemplateOutcome::Rendered("<no value>".into())
        );
    }

    #[test]
    fn failures_and_unsupported() {
        let c = claims();
        assert!(matches!(
            render("{{.missing}}", &c),
            TemplateOutcome::Fails(_)
        ));
        assert!(matches!(
            render("{{.repository_owner.x}}", &c),
            TemplateOutcome::Fails(_)
        ));
        assert!(matches!(
            render("{{.nul.x}}", &c),
            TemplateOutcome::Fails(_)
        ));
        assert!(matches!(
            render("{{ lowercase .ctx.org }}", &c),
            TemplateOutcome::Unsupported(_)
        ));
        assert!(matches!(
            render("{{.}}", &c),
            TemplateOutcome::Unsupported(_)
        ));
        assert!(matches!(
            render("{{.list}}", &c),
            TemplateOutcome::Unsupported(_)
        ));
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_format_float(123456.0), "123456");
        assert_eq!(go_format_float(1e6), "1e+06");
        assert_eq!(go_format_float(1234567.0), "1.234567e+06");
        assert_eq!(go_format_float(5.5), "5.5");
        assert_eq!(go_format_float(-0.001), "-0.001");
        assert_eq!(go_format_float(0.00001), "1e-05");
        assert_eq!(go_format_float(1.5e-7), "1.5e-07");
        assert_eq!(go_format_float(1e21), "1e+21");
        assert_eq!(go_format_float(0.0), "0");
    }
}
