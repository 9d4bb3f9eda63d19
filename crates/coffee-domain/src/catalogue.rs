//! The menu. Prices live here and only here: an order's price always comes from the
//! catalogue, never from a client.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

/// An amount of money in the smallest unit of the currency (Australian cents, as in the
/// original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Cents(#[serde(deserialize_with = "crate::whole::deserialize")] pub u32);

/// The currency every price is in.
pub const CURRENCY: &str = "AUD";

/// The id of a coffee on the menu.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CoffeeId(String);

impl schemars::JsonSchema for CoffeeId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CoffeeId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::text_without_controls(Self::MAX_CHARS, "A drink's id on the menu (\"1\", \"2\", ...).")
    }
}

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// A drink as the menu offers it: the coffee, its options with their price differences, and
/// whether it can be ordered now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MenuItem {
    #[serde(flatten)]
    pub coffee: Coffee,
    pub options: crate::OptionPrices,
    /// False: sold out for now (it stays on the menu, marked).
    #[serde(default = "yes")]
    pub available: bool,
    /// Taken off the menu: kept so that ordering it says it is gone, not that it never was.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

fn yes() -> bool {
    true
}

/// The original's menu, with each drink's options: what a shop starts with.
pub fn menu() -> Vec<MenuItem> {
    catalogue()
        .iter()
        .map(|c| MenuItem { coffee: c.clone(), options: options_of(&c.id), available: true, removed: false })
        .collect()
}

/// The shop's menu as its owner keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Menu {
    pub items: Vec<MenuItem>,
    pub updated_at: crate::Millis,
}

/// Why a drink cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotOrderable {
    /// Never on the menu.
    Unknown(InvalidInput),
    /// Sold out for now, or taken off the menu.
    SoldOut(String),
}

/// The owner's change to a drink: each field left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(schema_with = "crate::schema::coffee_change")]
pub struct CoffeeChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Cents>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<crate::OptionPrices>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
}

impl CoffeeChange {
    /// The most a drink may cost: A$100.
    pub const MAX_PRICE: u32 = 10_000;

    /// Checks every value given: a name of 1 to 60 characters, a description of at most 300,
    /// a price of 1 c to A$100, options whose differences stay within A$10 and at most 3 shots.
    pub fn checked(self) -> Result<Self, InvalidInput> {
        let name = self.name.map(|n| crate::ids::parse_text("name", &n, 60)).transpose()?;
        if name.as_deref() == Some("") {
            return Err(InvalidInput::new("name", "must not be empty"));
        }
        let description = self.description.map(|d| crate::ids::parse_text("description", &d, 300)).transpose()?;
        if let Some(p) = self.price
            && !(1..=Self::MAX_PRICE).contains(&p.0)
        {
            return Err(InvalidInput::new("price", format!("must be 1 to {} cents", Self::MAX_PRICE)));
        }
        if let Some(o) = &self.options {
            let deltas = o.size.iter().map(|c| c.price_delta).chain(o.milk.iter().map(|c| c.price_delta));
            if deltas.chain([o.extra_shot]).any(|d| d.abs() > 1_000) {
                return Err(InvalidInput::new("options", "each price difference must be within 1000 cents"));
            }
            if o.size.is_empty() || o.milk.is_empty() {
                return Err(InvalidInput::new("options", "offer at least one size and one milk"));
            }
            // A choice listed twice would have two prices: which one a customer pays is unclear.
            if repeats(o.size.iter().map(|c| c.value)) {
                return Err(InvalidInput::new("options.size", "each size may be listed once"));
            }
            if repeats(o.milk.iter().map(|c| c.value)) {
                return Err(InvalidInput::new("options.milk", "each milk may be listed once"));
            }
            if o.max_extra_shots > crate::DrinkOptions::MAX_EXTRA_SHOTS {
                return Err(InvalidInput::new("options.maxExtraShots", "must be 0 to 3"));
            }
        }
        Ok(Self { name, description, ..self })
    }
}

impl Menu {
    /// The most drinks the menu keeps, removed ones included: the whole menu is one record,
    /// read at every placement and sent to every open menu, so it stays small.
    pub const MAX_ITEMS: usize = 200;

    /// The menu a shop starts with.
    pub fn standard() -> Self {
        Self { items: menu(), updated_at: crate::Millis(0) }
    }

    /// What customers see: every drink not taken off, sold out ones marked.
    pub fn offered(&self) -> Vec<MenuItem> {
        self.items.iter().filter(|i| !i.removed).cloned().collect()
    }

    /// The drink a customer names, if it can be ordered now.
    pub fn orderable(&self, id: &CoffeeId) -> Result<&MenuItem, NotOrderable> {
        match self.items.iter().find(|i| i.coffee.id == *id) {
            None => Err(NotOrderable::Unknown(unknown(id))),
            Some(i) if i.removed => Err(NotOrderable::SoldOut(format!("{} is no longer on the menu", i.coffee.name))),
            Some(i) if !i.available => Err(NotOrderable::SoldOut(format!("{} is sold out for now", i.coffee.name))),
            Some(i) => Ok(i),
        }
    }

    /// A new drink: its id is the next number after the highest numeric id ever on the menu.
    pub fn add(&self, coffee: CoffeeChange, now: crate::Millis) -> Result<(Self, MenuItem), InvalidInput> {
        let coffee = coffee.checked()?;
        if self.items.len() >= Self::MAX_ITEMS {
            return Err(InvalidInput::new("name", format!("the menu holds at most {} drinks", Self::MAX_ITEMS)));
        }
        let name = coffee.name.clone().ok_or_else(|| InvalidInput::new("name", "missing"))?;
        let price = coffee.price.ok_or_else(|| InvalidInput::new("price", "missing"))?;
        let next = self.items.iter().filter_map(|i| i.coffee.id.as_str().parse::<u64>().ok()).max().unwrap_or(0) + 1;
        let item = MenuItem {
            coffee: Coffee {
                id: CoffeeId(next.to_string()),
                name,
                description: coffee.description.unwrap_or_default(),
                price,
            },
            options: coffee.options.unwrap_or_else(crate::OptionPrices::standard),
            available: coffee.available.unwrap_or(true),
            removed: false,
        };
        let mut items = self.items.clone();
        items.push(item.clone());
        Ok((Self { items, updated_at: now }, item))
    }

    /// The owner changes a drink on the menu (`None`: no such drink on it).
    pub fn change(
        &self,
        id: &CoffeeId,
        change: CoffeeChange,
        now: crate::Millis,
    ) -> Result<Option<(Self, MenuItem)>, InvalidInput> {
        let change = change.checked()?;
        let mut items = self.items.clone();
        let Some(item) = items.iter_mut().find(|i| i.coffee.id == *id && !i.removed) else { return Ok(None) };
        if let Some(name) = change.name {
            item.coffee.name = name;
        }
        if let Some(description) = change.description {
            item.coffee.description = description;
        }
        if let Some(price) = change.price {
            item.coffee.price = price;
        }
        if let Some(options) = change.options {
            item.options = options;
        }
        if let Some(available) = change.available {
            item.available = available;
        }
        let changed = item.clone();
        Ok(Some((Self { items, updated_at: now }, changed)))
    }

    /// Takes a drink off the menu (`None`: no such drink on it).
    pub fn remove(&self, id: &CoffeeId, now: crate::Millis) -> Option<Self> {
        let mut items = self.items.clone();
        let item = items.iter_mut().find(|i| i.coffee.id == *id && !i.removed)?;
        item.removed = true;
        item.available = false;
        Some(Self { items, updated_at: now })
    }
}

fn repeats<T: PartialEq>(values: impl Iterator<Item = T>) -> bool {
    let values: Vec<T> = values.collect();
    values.iter().enumerate().any(|(i, v)| values[..i].contains(v))
}

fn unknown(id: &CoffeeId) -> InvalidInput {
    InvalidInput::new("coffeeId", format!("there is no coffee with id '{id}' on the menu"))
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
    fn the_owner_adds_changes_sells_out_and_removes_drinks() {
        let now = crate::Millis(5);
        let menu = Menu::standard();
        let flat = CoffeeChange { name: Some("Flat white".into()), price: Some(Cents(420)), ..CoffeeChange::default() };
        let (menu, added) = menu.add(flat, now).expect("added");
        assert_eq!((added.coffee.id.as_str(), added.available), ("4", true), "the next number");
        let four = CoffeeId::parse("4").expect("id");
        assert!(menu.orderable(&four).is_ok());
        let sold_out = CoffeeChange { available: Some(false), ..CoffeeChange::default() };
        let (menu, _) = menu.change(&four, sold_out, now).expect("valid").expect("on the menu");
        assert!(matches!(menu.orderable(&four), Err(NotOrderable::SoldOut(m)) if m.contains("sold out")));
        assert_eq!(menu.offered().len(), 4, "a sold-out drink stays on the menu, marked");
        let menu = menu.remove(&four, now).expect("removed");
        assert_eq!(menu.offered().len(), 3);
        assert!(matches!(menu.orderable(&four), Err(NotOrderable::SoldOut(m)) if m.contains("no longer")));
        assert!(menu.remove(&four, now).is_none(), "removed once");
        assert!(matches!(menu.orderable(&CoffeeId::parse("42").expect("id")), Err(NotOrderable::Unknown(_))));
        let (after, again) = menu
            .add(CoffeeChange { name: Some("Chai".into()), price: Some(Cents(380)), ..CoffeeChange::default() }, now)
            .expect("added");
        assert_eq!(again.coffee.id.as_str(), "5", "a removed drink's id is not given again");
        assert_eq!(after.items.len(), 5);
        let full = Menu { items: vec![after.items[0].clone(); Menu::MAX_ITEMS], ..after };
        let tea = CoffeeChange { name: Some("Tea".into()), price: Some(Cents(300)), ..CoffeeChange::default() };
        assert!(full.add(tea, now).is_err(), "a full menu takes no more");
    }

    #[test]
    fn bad_menu_changes_are_refused_naming_the_field() {
        let field = |c: CoffeeChange| c.checked().unwrap_err().field;
        assert_eq!(field(CoffeeChange { name: Some(" ".into()), ..CoffeeChange::default() }), "name");
        assert_eq!(field(CoffeeChange { name: Some("x".repeat(61)), ..CoffeeChange::default() }), "name");
        assert_eq!(field(CoffeeChange { price: Some(Cents(0)), ..CoffeeChange::default() }), "price");
        assert_eq!(field(CoffeeChange { price: Some(Cents(10_001)), ..CoffeeChange::default() }), "price");
        let mut options = crate::OptionPrices::standard();
        options.extra_shot = 5_000;
        assert_eq!(field(CoffeeChange { options: Some(options), ..CoffeeChange::default() }), "options");
        let mut twice = crate::OptionPrices::standard();
        twice.size.push(twice.size[0]);
        assert_eq!(field(CoffeeChange { options: Some(twice), ..CoffeeChange::default() }), "options.size");
        let mut twice = crate::OptionPrices::standard();
        twice.milk.push(twice.milk[3]);
        assert_eq!(field(CoffeeChange { options: Some(twice), ..CoffeeChange::default() }), "options.milk");
        let mut none = crate::OptionPrices::standard();
        none.milk.clear();
        assert_eq!(field(CoffeeChange { options: Some(none), ..CoffeeChange::default() }), "options");
        let mut four = crate::OptionPrices::standard();
        four.max_extra_shots = 4;
        assert_eq!(field(CoffeeChange { options: Some(four), ..CoffeeChange::default() }), "options.maxExtraShots");
        assert!(
            CoffeeChange { options: Some(crate::OptionPrices::standard()), ..CoffeeChange::default() }
                .checked()
                .is_ok()
        );
        let missing = Menu::standard()
            .add(CoffeeChange { name: Some("Tea".into()), ..CoffeeChange::default() }, crate::Millis(1));
        assert_eq!(missing.unwrap_err().field, "price");
    }

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
