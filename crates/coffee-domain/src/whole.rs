//! Whole numbers as JSON has them: `68` and `68.0` are the same number (JSON Schema's `integer`
//! takes both, and some clients write every number with a point), so a request's prices and
//! counts take either; a fraction, or a number out of the field's range, is refused.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// A whole number from a JSON number: an integer, or a float with no fraction.
pub fn of_value(value: &serde_json::Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_f64().and_then(from_float))
}

fn from_float(f: f64) -> Option<i64> {
    // 2^63 is exactly representable; anything at or above it is out of i64's range.
    (f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)).then_some(f as i64)
}

struct Whole;

impl Visitor<'_> for Whole {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        from_float(v).ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
    }
}

fn in_range<T: TryFrom<i64>, E: de::Error>(n: i64) -> Result<T, E> {
    T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range")))
}

/// `#[serde(deserialize_with = "whole::deserialize")]`.
pub fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    in_range(d.deserialize_any(Whole)?)
}

/// The same for an optional field (with `#[serde(default)]`): null is none.
pub fn option<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
    struct MaybeWhole;
    impl<'de> Visitor<'de> for MaybeWhole {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Whole).map(Some)
        }
    }
    d.deserialize_option(MaybeWhole)?.map(in_range).transpose()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::deserialize")]
        n: u8,
        #[serde(default, deserialize_with = "super::option")]
        m: Option<i32>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str::<Body>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_whole_float_is_the_integer_and_a_fraction_is_refused() {
        assert_eq!(parse(r#"{"n": 3.0, "m": -2.0}"#).map(|b| (b.n, b.m)), Ok((3, Some(-2))));
        assert_eq!(parse(r#"{"n": 3}"#).map(|b| (b.n, b.m)), Ok((3, None)));
        assert_eq!(parse(r#"{"n": 3, "m": null}"#).map(|b| b.m), Ok(None));
        assert!(parse(r#"{"n": 3.5}"#).unwrap_err().contains("whole number"));
        assert!(parse(r#"{"n": 256}"#).unwrap_err().contains("out of range"));
        assert!(parse(r#"{"n": -1.0}"#).unwrap_err().contains("out of range"));
        assert!(parse(r#"{"n": "3"}"#).is_err());
        assert!(parse(r#"{"n": 1e300}"#).is_err());
        assert_eq!(super::of_value(&serde_json::json!(2.0)), Some(2));
        assert_eq!(super::of_value(&serde_json::json!(2.5)), None);
    }
}
