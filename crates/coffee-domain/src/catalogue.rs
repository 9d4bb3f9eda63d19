//! The menu. Prices live here and only here: an order's price always comes from the
//! catalogue, never from a client.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

/// An amount of money in the smallest unit of the currency (Australian cents, as in the
/// original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(pub u32);

/// The currency every price is in.
pub const CURRENCY: &str = "AUD";

/// The id of a coffee on the menu.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CoffeeId(String);

impl CoffeeId {
    pub const MAX_CHARS: usize = 64;

    /// Parses an id from a client. Whether the menu has that coffee is [`on_the_menu`]'s to say.
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let id = input.trim();
        if id.is_empty() {
            return Err(InvalidInput::new("coffeeId", "must not be empty"));
        }
        if id.chars().count() > Self::MAX_CHARS || id.chars().any(char::is_control) {
            return Err(InvalidInput::new("coffeeId", format!("there is no coffee with id '{id}' on the menu")));
        }
        Ok(Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CoffeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A coffee as it was on the menu when it was ordered. Orders keep this snapshot, so a
/// later price change does not rewrite history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coffee {
    pub id: CoffeeId,
    pub name: String,
    pub description: String,
    /// In cents.
    pub price: Cents,
}

impl Coffee {
    /// The coffee a client names by id, from the menu: [`CoffeeId::parse`], then [`on_the_menu`].
    pub fn from_menu(id: &str) -> Result<Self, InvalidInput> {
        on_the_menu(&CoffeeId::parse(id)?)
    }
}

/// A drink as the menu offers it: the coffee, and its options with their price differences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MenuItem {
    #[serde(flatten)]
    pub coffee: Coffee,
    pub options: crate::OptionPrices,
}

/// The menu with each drink's options.
pub fn menu() -> Vec<MenuItem> {
    catalogue().iter().map(|c| MenuItem { coffee: c.clone(), options: options_of(&c.id) }).collect()
}

/// The options a drink of the menu comes with: today the same for every drink.
pub fn options_of(_id: &CoffeeId) -> crate::OptionPrices {
    crate::OptionPrices::standard()
}

/// The coffee with this id, as the menu has it now; an unknown coffee is invalid input.
pub fn on_the_menu(id: &CoffeeId) -> Result<Coffee, InvalidInput> {
    catalogue()
        .iter()
        .find(|c| c.id == *id)
        .cloned()
        .ok_or_else(|| InvalidInput::new("coffeeId", format!("there is no coffee with id '{id}' on the menu")))
}

/// The menu, as in the original (prices in Australian cents).
pub fn catalogue() -> &'static [Coffee] {
    use std::sync::OnceLock;
    static MENU: OnceLock<Vec<Coffee>> = OnceLock::new();
    MENU.get_or_init(|| {
        let coffee = |id: &str, name: &str, description: &str, price| Coffee {
            id: CoffeeId(id.to_owned()),
            name: name.to_owned(),
            description: description.to_owned(),
            price: Cents(price),
        };
        vec![
            coffee(
                "1",
                "Cappuccino",
                "Espresso with steamed milk and a deep layer of foam, dusted with chocolate.",
                370,
            ),
            coffee("2", "Latte", "Espresso with plenty of steamed milk and a thin layer of foam.", 400),
            coffee("3", "Mocha", "Espresso with chocolate and steamed milk.", 450),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_id_finds_its_coffee_and_price() {
        let latte = on_the_menu(&CoffeeId::parse(" 2 ").expect("an id")).expect("latte is on the menu");
        assert_eq!(latte.name, "Latte");
        assert_eq!(latte.price, Cents(400));
    }

    #[test]
    fn an_unknown_or_empty_id_is_refused() {
        let unknown = CoffeeId::parse("42").expect("an id");
        assert_eq!(on_the_menu(&unknown).unwrap_err().field, "coffeeId");
        assert!(CoffeeId::parse("").is_err());
        assert!(CoffeeId::parse("   ").is_err());
        assert!(CoffeeId::parse(&"7".repeat(65)).is_err());
        assert!(CoffeeId::parse(&"7".repeat(CoffeeId::MAX_CHARS)).is_ok(), "the longest id is an id");
    }

    #[test]
    fn an_id_reads_and_prints_as_given_trimmed() {
        let id = CoffeeId::parse(" 2 ").expect("an id");
        assert_eq!((id.as_str(), id.to_string().as_str()), ("2", "2"));
    }
}
