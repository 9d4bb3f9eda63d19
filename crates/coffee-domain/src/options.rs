//! A drink's options: its size, its milk and extra shots, what the customer chose, and what
//! each costs on top of the drink's price. Prices live in the menu, never in a request.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Cents, InvalidInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    Small,
    Regular,
    Large,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Milk {
    Full,
    Skim,
    Oat,
    Soy,
}

impl Size {
    pub const ALL: [Size; 3] = [Size::Small, Size::Regular, Size::Large];
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Regular => "regular",
            Size::Large => "large",
        }
    }
}

impl Milk {
    pub const ALL: [Milk; 4] = [Milk::Full, Milk::Skim, Milk::Oat, Milk::Soy];
    pub fn as_str(self) -> &'static str {
        match self {
            Milk::Full => "full",
            Milk::Skim => "skim",
            Milk::Oat => "oat",
            Milk::Soy => "soy",
        }
    }
}

/// What the customer chose. Left out, an option is its default: regular, full milk, no extra
/// shot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrinkOptions {
    pub size: Size,
    pub milk: Milk,
    pub extra_shots: u8,
}

impl Default for DrinkOptions {
    fn default() -> Self {
        Self { size: Size::Regular, milk: Milk::Full, extra_shots: 0 }
    }
}

impl DrinkOptions {
    /// The most extra shots anyone may ask for.
    pub const MAX_EXTRA_SHOTS: u8 = 3;

    /// Parses `{"size": "large", "milk": "oat", "extraShots": 1}` as a client sends it; each
    /// key may be left out. An unknown key or value is refused naming it.
    pub fn parse(input: &Value) -> Result<Self, InvalidInput> {
        let Value::Object(fields) = input else {
            return Err(InvalidInput::new("options", "must be an object like {\"size\": \"large\"}"));
        };
        let mut options = Self::default();
        for (key, value) in fields {
            match key.as_str() {
                "size" => options.size = parse_choice("options.size", value, &Size::ALL, Size::as_str)?,
                "milk" => options.milk = parse_choice("options.milk", value, &Milk::ALL, Milk::as_str)?,
                "extraShots" => options.extra_shots = Self::parse_shots(crate::whole::of_value(value))?,
                other => {
                    return Err(InvalidInput::new(
                        "options",
                        format!("'{other}' is not an option (size, milk, extraShots)"),
                    ));
                }
            }
        }
        Ok(options)
    }

    /// The named options one at a time, as GraphQL's input gives them.
    pub fn from_parts(size: Option<&str>, milk: Option<&str>, extra_shots: Option<i64>) -> Result<Self, InvalidInput> {
        let mut options = Self::default();
        if let Some(size) = size {
            options.size = parse_choice("options.size", &Value::from(size), &Size::ALL, Size::as_str)?;
        }
        if let Some(milk) = milk {
            options.milk = parse_choice("options.milk", &Value::from(milk), &Milk::ALL, Milk::as_str)?;
        }
        if extra_shots.is_some() {
            options.extra_shots = Self::parse_shots(extra_shots)?;
        }
        Ok(options)
    }

    fn parse_shots(shots: Option<i64>) -> Result<u8, InvalidInput> {
        shots
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| *n <= Self::MAX_EXTRA_SHOTS)
            .ok_or_else(|| InvalidInput::new("options.extraShots", format!("must be 0 to {}", Self::MAX_EXTRA_SHOTS)))
    }
}

fn parse_choice<T: Copy>(
    field: &'static str,
    value: &Value,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, InvalidInput> {
    let names: Vec<&str> = all.iter().map(|c| name(*c)).collect();
    value
        .as_str()
        .and_then(|text| all.iter().copied().find(|c| name(*c) == text.trim().to_ascii_lowercase()))
        .ok_or_else(|| InvalidInput::new(field, format!("{value} is not one of {}", names.join(", "))))
}

impl fmt::Display for DrinkOptions {
    /// "large, oat milk, 1 extra shot", as the barista's card and the receipt say it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {} milk", self.size.as_str(), self.milk.as_str())?;
        match self.extra_shots {
            0 => Ok(()),
            1 => f.write_str(", 1 extra shot"),
            n => write!(f, ", {n} extra shots"),
        }
    }
}

/// One choice of an option and what it adds to the price (negative: it costs less).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "{T}Choice")]
pub struct Choice<T> {
    pub value: T,
    #[serde(deserialize_with = "crate::whole::deserialize")]
    pub price_delta: i32,
}

/// A drink's options as the menu offers them, with their price differences in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptionPrices {
    pub size: Vec<Choice<Size>>,
    pub milk: Vec<Choice<Milk>>,
    /// What each extra shot adds.
    #[serde(deserialize_with = "crate::whole::deserialize")]
    pub extra_shot: i32,
    #[serde(deserialize_with = "crate::whole::deserialize")]
    pub max_extra_shots: u8,
}

impl OptionPrices {
    /// The options every drink of the menu has: a small is 50 c less, a large 70 c more; oat
    /// and soy milk 60 and 50 c; each extra shot 50 c.
    pub fn standard() -> Self {
        fn choice<T>(value: T, price_delta: i32) -> Choice<T> {
            Choice { value, price_delta }
        }
        Self {
            size: vec![choice(Size::Small, -50), choice(Size::Regular, 0), choice(Size::Large, 70)],
            milk: vec![choice(Milk::Full, 0), choice(Milk::Skim, 0), choice(Milk::Oat, 60), choice(Milk::Soy, 50)],
            extra_shot: 50,
            max_extra_shots: DrinkOptions::MAX_EXTRA_SHOTS,
        }
    }

    /// The options as GraphQL's input gives them: each size and milk by name with its price
    /// difference. An unknown name is refused naming the option; the limits on the differences
    /// are [`crate::CoffeeChange::checked`]'s.
    pub fn from_parts(
        size: &[(&str, i64)],
        milk: &[(&str, i64)],
        extra_shot: i64,
        max_extra_shots: i64,
    ) -> Result<Self, InvalidInput> {
        fn delta(field: &'static str, d: i64) -> Result<i32, InvalidInput> {
            i32::try_from(d).map_err(|_| InvalidInput::new(field, "each price difference must be within 1000 cents"))
        }
        fn choices<T: Copy>(
            field: &'static str,
            given: &[(&str, i64)],
            all: &[T],
            name: fn(T) -> &'static str,
        ) -> Result<Vec<Choice<T>>, InvalidInput> {
            given
                .iter()
                .map(|(value, d)| {
                    Ok(Choice {
                        value: parse_choice(field, &Value::from(*value), all, name)?,
                        price_delta: delta(field, *d)?,
                    })
                })
                .collect()
        }
        Ok(Self {
            size: choices("options.size", size, &Size::ALL, Size::as_str)?,
            milk: choices("options.milk", milk, &Milk::ALL, Milk::as_str)?,
            extra_shot: delta("options.extraShot", extra_shot)?,
            max_extra_shots: u8::try_from(max_extra_shots)
                .map_err(|_| InvalidInput::new("options.maxExtraShots", "must be 0 to 3"))?,
        })
    }

    /// The price of the drink with `chosen`: its base price plus each choice's difference. A
    /// choice this drink does not offer is refused naming the option.
    pub fn price(&self, base: Cents, chosen: &DrinkOptions) -> Result<Cents, InvalidInput> {
        let size = self.size.iter().find(|c| c.value == chosen.size).ok_or_else(|| {
            InvalidInput::new("options.size", format!("this drink does not come in {}", chosen.size.as_str()))
        })?;
        let milk = self.milk.iter().find(|c| c.value == chosen.milk).ok_or_else(|| {
            InvalidInput::new("options.milk", format!("this drink is not made with {} milk", chosen.milk.as_str()))
        })?;
        if chosen.extra_shots > self.max_extra_shots {
            return Err(InvalidInput::new("options.extraShots", format!("must be 0 to {}", self.max_extra_shots)));
        }
        let total = i64::from(base.0)
            + i64::from(size.price_delta)
            + i64::from(milk.price_delta)
            + i64::from(self.extra_shot) * i64::from(chosen.extra_shots);
        u32::try_from(total)
            .map(Cents)
            .map_err(|_| InvalidInput::new("options", "these options make a price below zero"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_large_oat_latte_with_a_shot_costs_the_latte_and_each_choice() {
        let options = DrinkOptions::parse(&json!({"size": "large", "milk": "oat", "extraShots": 1})).expect("parses");
        assert_eq!(options, DrinkOptions { size: Size::Large, milk: Milk::Oat, extra_shots: 1 });
        assert_eq!(OptionPrices::standard().price(Cents(400), &options), Ok(Cents(400 + 70 + 60 + 50)));
        assert_eq!(OptionPrices::standard().price(Cents(400), &DrinkOptions::default()), Ok(Cents(400)));
        let small = DrinkOptions { size: Size::Small, ..DrinkOptions::default() };
        assert_eq!(OptionPrices::standard().price(Cents(370), &small), Ok(Cents(320)));
        assert_eq!(options.to_string(), "large, oat milk, 1 extra shot");
        assert_eq!(
            serde_json::to_value(options).expect("json"),
            json!({"size": "large", "milk": "oat", "extraShots": 1})
        );
    }

    #[test]
    fn an_unknown_option_or_value_is_refused_naming_the_field() {
        let field = |input: Value| DrinkOptions::parse(&input).unwrap_err().field;
        assert_eq!(field(json!({"size": "huge"})), "options.size");
        assert_eq!(field(json!({"milk": "almond"})), "options.milk");
        assert_eq!(field(json!({"milk": 3})), "options.milk");
        assert_eq!(field(json!({"extraShots": 4})), "options.extraShots");
        assert_eq!(field(json!({"extraShots": -1})), "options.extraShots");
        assert_eq!(field(json!({"extraShots": "two"})), "options.extraShots");
        assert_eq!(field(json!({"sugar": 2})), "options");
        assert_eq!(field(json!("large")), "options");
        assert!(DrinkOptions::parse(&json!({"extraShots": 3})).is_ok());
        assert_eq!(DrinkOptions::parse(&json!({"size": " Large "})).expect("trimmed").size, Size::Large);
        assert_eq!(DrinkOptions::from_parts(Some("tall"), None, None).unwrap_err().field, "options.size");
    }

    #[test]
    fn a_choice_a_drink_does_not_offer_is_refused() {
        let mut espresso = OptionPrices::standard();
        espresso.milk.retain(|c| c.value == Milk::Full);
        let oat = DrinkOptions { milk: Milk::Oat, ..DrinkOptions::default() };
        assert_eq!(espresso.price(Cents(300), &oat).unwrap_err().field, "options.milk");
        let cheap = OptionPrices { size: vec![Choice { value: Size::Regular, price_delta: -500 }], ..espresso };
        assert_eq!(cheap.price(Cents(300), &DrinkOptions::default()).unwrap_err().field, "options");
    }

    #[test]
    fn graphql_parts_make_the_same_options_as_json() {
        let parts = OptionPrices::from_parts(
            &[("small", -50), ("regular", 0), ("large", 70)],
            &[("full", 0), ("skim", 0), ("oat", 60), ("soy", 50)],
            50,
            3,
        );
        assert_eq!(parts, Ok(OptionPrices::standard()));
        let field =
            |size: &[(&str, i64)], shots| OptionPrices::from_parts(size, &[("full", 0)], 0, shots).unwrap_err().field;
        assert_eq!(field(&[("tall", 0)], 3), "options.size");
        assert_eq!(field(&[("large", i64::MAX)], 3), "options.size");
        assert_eq!(field(&[("large", 0)], -1), "options.maxExtraShots");
    }
}
