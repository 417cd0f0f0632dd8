//! Scalar values of the scenario language: durations, wait times, bounded numbers, and the serde
//! field deserializers that read them with a message (and so a location) of our own.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::error::{Issue, PlanError};
use crate::plan::Wait;

const DURATION_HINT: &str =
    "write a number with a unit: 500ms, 90s, 2m, 1h30m, 1.5s (a bare number means seconds)";

/// Parses a duration such as `1h30m`, `90s`, `500ms`, `2m`, `1.5s` or `10` (bare numbers are
/// seconds). Units: `ms`, `s`, `m`, `h`, `d`.
pub fn parse_duration(text: &str) -> Result<Duration, PlanError> {
    duration_from_text(text).map_err(PlanError::from)
}

/// Parses a wait time: `1s` or `constant(1s)`, `1s..3s` or `between(1s, 3s)`,
/// `constant_pacing(2s)`, `constant_throughput(0.5)`, or `none`.
pub fn parse_wait(text: &str) -> Result<Wait, PlanError> {
    wait_from_text(text).map_err(PlanError::from)
}

pub(crate) fn duration_from_text(text: &str) -> Result<Duration, Issue> {
    let trimmed = text.trim();
    let invalid =
        |why: &str| Issue::new(format!("invalid duration {text:?}: {why}")).hint(DURATION_HINT);
    if trimmed.is_empty() {
        return Err(Issue::new("empty duration").hint(DURATION_HINT));
    }
    if trimmed.starts_with('-') {
        return Err(invalid("durations cannot be negative"));
    }
    let mut rest = trimmed;
    let mut total: u128 = 0;
    let mut bare = true;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() {
            return Err(invalid("expected a number"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit = unit.trim();
        let unit_nanos: u128 = match unit {
            "" if bare && after.is_empty() => 1_000_000_000,
            "" => return Err(invalid("every number after the first needs a unit")),
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "d" => 86_400 * 1_000_000_000,
            other => return Err(invalid(&format!("unknown unit {other:?}"))),
        };
        bare = false;
        let nanos = scaled_decimal(number, unit_nanos).map_err(invalid)?;
        total = total
            .checked_add(nanos)
            .ok_or_else(|| invalid("too long"))?;
        rest = after;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| invalid("too long"))?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// `number × unit`, exactly, for a decimal `number` such as `1.25`. Integer arithmetic keeps
/// `0.1s` at exactly 100 ms.
fn scaled_decimal(number: &str, unit: u128) -> Result<u128, &'static str> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err("not a number");
    }
    let too_long = "too long";
    let whole: u128 = match whole {
        "" => 0,
        digits => digits.parse().map_err(|_| too_long)?,
    };
    // Digits beyond the 18th cannot change a nanosecond count of any unit used here.
    let fraction = &fraction[..fraction.len().min(18)];
    let mut value = whole.checked_mul(unit).ok_or(too_long)?;
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().map_err(|_| "not a number")?;
        value = value
            .checked_add(digits * unit / 10u128.pow(fraction.len() as u32))
            .ok_or(too_long)?;
    }
    Ok(value)
}

pub(crate) fn wait_from_text(text: &str) -> Result<Wait, Issue> {
    let hint = "use 1s, 1s..3s, between(1s, 3s), constant(1s), constant_pacing(2s), \
                constant_throughput(0.5) or none";
    let trimmed = text.trim();
    let with_hint = |issue: Issue| issue.hint(hint);
    if trimmed.eq_ignore_ascii_case("none") {
        return Ok(Wait::Constant(Duration::ZERO));
    }
    if let Some((name, args)) = call(trimmed) {
        let wait = match name {
            "constant" => Wait::Constant(duration_from_text(args).map_err(with_hint)?),
            "between" => {
                let (min, max) = args
                    .split_once(',')
                    .ok_or_else(|| Issue::new("between needs two durations: between(1s, 3s)"))?;
                between(min, max)?
            }
            "constant_pacing" => {
                Wait::ConstantPacing(positive(duration_from_text(args), "constant_pacing")?)
            }
            "constant_throughput" => Wait::ConstantThroughput(throughput(args)?),
            other => {
                return Err(Issue::new(format!("unknown wait function {other:?}")).hint(hint));
            }
        };
        return Ok(wait);
    }
    if let Some((min, max)) = trimmed.split_once("..") {
        return between(min, max);
    }
    duration_from_text(trimmed)
        .map(Wait::Constant)
        .map_err(|_| Issue::new(format!("invalid wait {text:?}")).hint(hint))
}

/// Splits `name(args)` into its parts.
fn call(text: &str) -> Option<(&str, &str)> {
    let (name, rest) = text.split_once('(')?;
    let args = rest.strip_suffix(')')?;
    Some((name.trim(), args.trim()))
}

fn between(min: &str, max: &str) -> Result<Wait, Issue> {
    let min = duration_from_text(min)?;
    let max = duration_from_text(max)?;
    if min > max {
        return Err(Issue::new(format!(
            "the wait's minimum ({min:?}) is larger than its maximum ({max:?})"
        ))
        .hint("write the shorter time first, e.g. between(1s, 3s)"));
    }
    Ok(Wait::Between(min, max))
}

fn positive(duration: Result<Duration, Issue>, what: &str) -> Result<Duration, Issue> {
    match duration? {
        Duration::ZERO => Err(Issue::new(format!("{what} needs a time above zero"))),
        d => Ok(d),
    }
}

fn throughput(args: &str) -> Result<f64, Issue> {
    match args.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(Issue::new(format!(
            "constant_throughput needs a number of tasks per second above zero, not {args:?}"
        ))),
    }
}

/// A number as written in the file, whichever numeric type the format reported it as.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// A scalar: a string, a number or a boolean.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar {
    Text(String),
    Number(Number),
    Bool(bool),
}

impl Scalar {
    /// The scalar as it would read in a URL or a header.
    pub(crate) fn into_text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Number(Number::Int(i)) => i.to_string(),
            Scalar::Number(Number::Float(f)) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number or a boolean")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(Number::Int(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(Number::Int(v.into())))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
        Ok(Scalar::Number(Number::Int(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(Number::Float(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Number, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Number(n) => Ok(n),
        other => Err(Issue::new(format!("expected a number, found {other:?}")).into_de()),
    }
}

/// A duration field: a duration string, or a number of seconds.
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Text(text) => duration_from_text(&text).map_err(Issue::into_de),
        Scalar::Number(n) => {
            let secs = n.as_f64();
            if secs < 0.0 {
                return Err(Issue::new("durations cannot be negative").into_de());
            }
            Duration::try_from_secs_f64(secs)
                .map_err(|_| Issue::new(format!("invalid duration {secs}")).into_de())
        }
        Scalar::Bool(b) => Err(Issue::new(format!("expected a duration, found {b}"))
            .hint(DURATION_HINT)
            .into_de()),
    }
}

pub(crate) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Field(#[serde(deserialize_with = "duration")] Duration);
    Ok(Option::<Field>::deserialize(d)?.map(|f| f.0))
}

/// A duration that must be above zero (a run time, a stage length).
pub(crate) fn opt_positive_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    match opt_duration(d)? {
        Some(Duration::ZERO) => Err(Issue::new("must be longer than zero").into_de()),
        other => Ok(other),
    }
}

pub(crate) fn opt_wait<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Wait>, D::Error> {
    let Some(scalar) = Option::<Scalar>::deserialize(d)? else {
        return Ok(None);
    };
    let wait = match scalar {
        Scalar::Text(text) => wait_from_text(&text),
        Scalar::Number(n) => duration_from_text(&n.as_f64().to_string()).map(Wait::Constant),
        Scalar::Bool(b) => Err(Issue::new(format!("expected a wait time, found {b}"))),
    };
    wait.map(Some).map_err(Issue::into_de)
}

/// A whole number of at least `min`.
pub(crate) fn whole(n: Number, min: i128, max: i128) -> Result<i128, Issue> {
    let value = match n {
        Number::Int(i) => i,
        Number::Float(f) if f.fract() == 0.0 && f.abs() < 1e30 => f as i128,
        Number::Float(f) => return Err(Issue::new(format!("expected a whole number, found {f}"))),
    };
    if value < min {
        return Err(Issue::new(format!("must be at least {min}, found {value}")));
    }
    if value > max {
        return Err(Issue::new(format!("must be at most {max}, found {value}")));
    }
    Ok(value)
}

/// A count of at least 1 that fits a `u32` (weights, fixed counts, user caps).
pub(crate) fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Field(#[serde(deserialize_with = "number")] Number);
    match Option::<Field>::deserialize(d)? {
        None => Ok(None),
        Some(Field(n)) => whole(n, 1, u32::MAX.into())
            .map(|v| Some(v as u32))
            .map_err(Issue::into_de),
    }
}

/// A number of users: zero or more.
pub(crate) fn opt_users<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Field(#[serde(deserialize_with = "number")] Number);
    match Option::<Field>::deserialize(d)? {
        None => Ok(None),
        Some(Field(n)) => whole(n, 0, u64::MAX.into())
            .map(|v| Some(v as u64))
            .map_err(Issue::into_de),
    }
}

/// Checks a rate (users or arrivals per second): finite, and above zero unless `zero_ok`.
pub(crate) fn rate(value: f64, zero_ok: bool) -> Result<f64, Issue> {
    if !value.is_finite() {
        return Err(Issue::new(format!(
            "must be a finite number, found {value}"
        )));
    }
    if value < 0.0 || (value == 0.0 && !zero_ok) {
        let bound = if zero_ok {
            "zero or more"
        } else {
            "above zero"
        };
        return Err(Issue::new(format!("must be {bound}, found {value}")));
    }
    Ok(value)
}

/// A rate that must be above zero.
pub(crate) fn opt_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    opt_rate_checked(d, false)
}

/// A rate that may be zero.
pub(crate) fn opt_rate_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    opt_rate_checked(d, true)
}

fn opt_rate_checked<'de, D: Deserializer<'de>>(
    d: D,
    zero_ok: bool,
) -> Result<Option<f64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Field(#[serde(deserialize_with = "number")] Number);
    match Option::<Field>::deserialize(d)? {
        None => Ok(None),
        Some(Field(n)) => rate(n.as_f64(), zero_ok).map(Some).map_err(Issue::into_de),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations() {
        let cases = [
            ("1h30m", ms(5_400_000)),
            ("90s", ms(90_000)),
            ("500ms", ms(500)),
            ("2m", ms(120_000)),
            ("10", ms(10_000)),
            ("1.5s", ms(1_500)),
            ("0.1s", ms(100)),
            (" 1m30s ", ms(90_000)),
            ("1d", ms(86_400_000)),
            ("0", ms(0)),
            ("1.25", ms(1_250)),
            ("1m 30s", ms(90_000)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn bad_durations() {
        let cases = [
            ("5x", "unknown unit \"x\""),
            ("-1s", "cannot be negative"),
            ("", "empty duration"),
            ("   ", "empty duration"),
            ("s", "expected a number"),
            ("1.2.3s", "not a number"),
            ("1m30", "needs a unit"),
            (".s", "not a number"),
            ("99999999999999999999999999999d", "too long"),
            ("1000000000000000000000000000000000000000000d", "too long"),
        ];
        for (text, want) in cases {
            let err = parse_duration(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        let err = parse_duration("5x").unwrap_err();
        assert_eq!(err.hint(), Some(DURATION_HINT));
    }

    #[test]
    fn waits() {
        let cases = [
            ("1s", Wait::Constant(ms(1000))),
            ("none", Wait::Constant(ms(0))),
            ("1s..3s", Wait::Between(ms(1000), ms(3000))),
            ("between(1s, 3s)", Wait::Between(ms(1000), ms(3000))),
            ("between(500ms,500ms)", Wait::Between(ms(500), ms(500))),
            ("constant(2s)", Wait::Constant(ms(2000))),
            ("constant_pacing(2s)", Wait::ConstantPacing(ms(2000))),
            ("constant_throughput(0.5)", Wait::ConstantThroughput(0.5)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_wait(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn bad_waits() {
        let cases = [
            ("between(3s, 1s)", "larger than its maximum"),
            ("3s..1s", "larger than its maximum"),
            ("between(1s)", "two durations"),
            ("sometimes(1s)", "unknown wait function"),
            ("constant_throughput(0)", "above zero"),
            ("constant_throughput(x)", "above zero"),
            ("constant_pacing(0s)", "above zero"),
            ("soon", "invalid wait"),
            ("constant(5x)", "unknown unit"),
        ];
        for (text, want) in cases {
            let err = parse_wait(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(whole(Number::Float(3.0), 1, 10), Ok(3));
        assert!(whole(Number::Float(2.5), 1, 10).is_err());
        assert!(whole(Number::Int(0), 1, 10)
            .unwrap_err()
            .message
            .contains("at least 1"));
        assert!(whole(Number::Int(11), 1, 10)
            .unwrap_err()
            .message
            .contains("at most 10"));
        assert!(rate(f64::NAN, true).is_err());
        assert!(rate(0.0, false).is_err());
        assert_eq!(rate(0.0, true), Ok(0.0));
    }
}
