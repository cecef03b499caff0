//! Conversions between [`Value`]s and the Rust types of typed-row fields.
//!
//! [`Atomic`] maps one OVSDB atomic type to a Rust type (`String`, `i64`,
//! `f64`, `bool`, [`Uuid`]). [`ColumnValue`] lifts it to the four column
//! shapes: `T` (scalar), `Option<T>`, `Vec<T>` (set) and `BTreeMap<K, V>`.
//! [`column()`] and [`put()`] read and write one column of a [`Row`]; the tables
//! in this module's parent are lists of those calls, written by the
//! `typed_row!` macro.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::rows::ColumnKind;
use crate::schema::AtomicType;
use crate::value::{Atom, Row, Value};

/// A Rust type holding one OVSDB atom of a fixed atomic type.
pub trait Atomic: Sized + Default {
    /// The OVSDB atomic type this Rust type holds.
    const TYPE: AtomicType;

    /// The atom's value, or `None` when the atom has another type.
    fn from_atom(atom: &Atom) -> Option<Self>;

    /// The value as an atom.
    fn to_atom(&self) -> Atom;
}

impl Atomic for String {
    const TYPE: AtomicType = AtomicType::String;
    fn from_atom(atom: &Atom) -> Option<Self> {
        atom.as_str().map(str::to_string)
    }
    fn to_atom(&self) -> Atom {
        Atom::from(self.as_str())
    }
}

impl Atomic for i64 {
    const TYPE: AtomicType = AtomicType::Integer;
    fn from_atom(atom: &Atom) -> Option<Self> {
        atom.as_i64()
    }
    fn to_atom(&self) -> Atom {
        Atom::Integer(*self)
    }
}

/// A real column may arrive as a JSON integer (`1` rather than `1.0`), so
/// integer atoms are accepted too.
impl Atomic for f64 {
    const TYPE: AtomicType = AtomicType::Real;
    fn from_atom(atom: &Atom) -> Option<Self> {
        atom.as_f64()
    }
    fn to_atom(&self) -> Atom {
        Atom::Real(*self)
    }
}

impl Atomic for bool {
    const TYPE: AtomicType = AtomicType::Boolean;
    fn from_atom(atom: &Atom) -> Option<Self> {
        atom.as_bool()
    }
    fn to_atom(&self) -> Atom {
        Atom::Boolean(*self)
    }
}

/// Only real UUIDs: a `named-uuid` never comes back from the server.
impl Atomic for Uuid {
    const TYPE: AtomicType = AtomicType::Uuid;
    fn from_atom(atom: &Atom) -> Option<Self> {
        atom.as_uuid()
    }
    fn to_atom(&self) -> Atom {
        Atom::Uuid(*self)
    }
}

/// A Rust type holding a whole column: an [`Atomic`] (scalar), `Option`,
/// `Vec` (set) or `BTreeMap` (map) of atomic types.
pub trait ColumnValue: Sized {
    /// The column shape this Rust type stands for.
    const KIND: ColumnKind;

    /// The value of a column missing from the row: empty, zero or `None`.
    fn absent() -> Self;

    /// Reads the value; the error is the reason, without table or column.
    fn decode(value: &Value) -> std::result::Result<Self, String>;

    /// Writes the value.
    fn encode(&self) -> Value;
}

impl<T: Atomic> ColumnValue for T {
    const KIND: ColumnKind = ColumnKind::Scalar(T::TYPE);

    fn absent() -> Self {
        T::default()
    }

    fn decode(value: &Value) -> std::result::Result<Self, String> {
        match set_atoms(value)? {
            [one] => atom(one),
            atoms => Err(format!(
                "expected one {}, got {} atoms",
                type_name(T::TYPE),
                atoms.len()
            )),
        }
    }

    fn encode(&self) -> Value {
        Value::Set(vec![self.to_atom()])
    }
}

impl<T: Atomic> ColumnValue for Option<T> {
    const KIND: ColumnKind = ColumnKind::Optional(T::TYPE);

    fn absent() -> Self {
        None
    }

    fn decode(value: &Value) -> std::result::Result<Self, String> {
        match set_atoms(value)? {
            [] => Ok(None),
            [one] => atom(one).map(Some),
            atoms => Err(format!(
                "expected at most one {}, got {} atoms",
                type_name(T::TYPE),
                atoms.len()
            )),
        }
    }

    fn encode(&self) -> Value {
        Value::Set(self.iter().map(Atomic::to_atom).collect())
    }
}

impl<T: Atomic> ColumnValue for Vec<T> {
    const KIND: ColumnKind = ColumnKind::Set(T::TYPE);

    fn absent() -> Self {
        Vec::new()
    }

    fn decode(value: &Value) -> std::result::Result<Self, String> {
        set_atoms(value)?.iter().map(atom).collect()
    }

    fn encode(&self) -> Value {
        Value::set(self.iter().map(Atomic::to_atom))
    }
}

impl<K: Atomic + Ord, V: Atomic> ColumnValue for BTreeMap<K, V> {
    const KIND: ColumnKind = ColumnKind::Map(K::TYPE, V::TYPE);

    fn absent() -> Self {
        BTreeMap::new()
    }

    fn decode(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Map(map) => map.iter().map(|(k, v)| Ok((atom(k)?, atom(v)?))).collect(),
            // An empty set is also how an empty column may be held.
            Value::Set(atoms) if atoms.is_empty() => Ok(BTreeMap::new()),
            Value::Set(atoms) => Err(format!(
                "expected a map of {} to {}, got a set of {} atoms",
                type_name(K::TYPE),
                type_name(V::TYPE),
                atoms.len()
            )),
        }
    }

    fn encode(&self) -> Value {
        Value::map(self.iter().map(|(k, v)| (k.to_atom(), v.to_atom())))
    }
}

/// Reads `column` of `row` as a `T`: its empty value when the row lacks
/// the column, an [`Error::TypedRow`] when it has the wrong type.
pub fn column<T: ColumnValue>(
    table: &'static str,
    uuid: Uuid,
    row: &Row,
    column: &'static str,
) -> Result<T> {
    match row.get(column) {
        None => Ok(T::absent()),
        Some(value) => T::decode(value).map_err(|reason| Error::TypedRow {
            table,
            uuid: uuid.to_string(),
            column,
            reason,
        }),
    }
}

/// Writes `value` into `column` of `row`.
pub fn put<T: ColumnValue>(row: &mut Row, column: &str, value: &T) {
    row.insert(column, value.encode());
}

/// The OVSDB name of an atomic type, as schemas spell it.
pub fn type_name(atomic: AtomicType) -> &'static str {
    match atomic {
        AtomicType::Integer => "integer",
        AtomicType::Real => "real",
        AtomicType::Boolean => "boolean",
        AtomicType::String => "string",
        AtomicType::Uuid => "uuid",
    }
}

/// The atoms of a set value. An empty map counts as an empty set, since an
/// empty column may be held either way.
fn set_atoms(value: &Value) -> std::result::Result<&[Atom], String> {
    match value {
        Value::Set(atoms) => Ok(atoms),
        Value::Map(map) if map.is_empty() => Ok(&[]),
        Value::Map(map) => Err(format!(
            "expected a set, got a map of {} entries",
            map.len()
        )),
    }
}

/// One atom as a `T`, or why it is not one.
fn atom<T: Atomic>(atom: &Atom) -> std::result::Result<T, String> {
    T::from_atom(atom).ok_or_else(|| format!("expected {}, got {atom}", type_name(T::TYPE)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_needs_exactly_one_atom_of_its_type() {
        assert_eq!(String::decode(&Value::from("br-int")), Ok("br-int".into()));
        assert_eq!(i64::decode(&Value::from(7)), Ok(7));
        let err = i64::decode(&Value::from("7")).unwrap_err();
        assert_eq!(err, "expected integer, got \"7\"");
        assert!(String::decode(&Value::empty()).is_err());
        assert!(String::decode(&Value::set(["a", "b"])).is_err());
        assert!(bool::decode(&Value::map([("a", "b")])).is_err());
    }

    #[test]
    fn optional_holds_zero_or_one_atom() {
        assert_eq!(Option::<i64>::decode(&Value::empty()), Ok(None));
        assert_eq!(Option::<i64>::decode(&Value::from(3)), Ok(Some(3)));
        assert!(Option::<i64>::decode(&Value::set([1i64, 2])).is_err());
        assert_eq!(Some(true).encode(), Value::from(true));
        assert_eq!(None::<bool>.encode(), Value::empty());
    }

    #[test]
    fn set_reads_every_atom_and_rejects_named_uuids() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(Vec::<Uuid>::decode(&Value::set([b, a])), Ok(vec![a, b]));
        assert_eq!(Vec::<Uuid>::decode(&Value::Map(Vec::new())), Ok(vec![]));
        let named = Value::Set(vec![Atom::NamedUuid("p".into())]);
        assert!(Vec::<Uuid>::decode(&named).is_err());
        assert_eq!(vec![b, a].encode(), Value::set([a, b]));
    }

    #[test]
    fn map_checks_key_and_value_types() {
        let ok = Value::map([("rate", 10i64)]);
        let decoded = BTreeMap::<String, i64>::decode(&ok).unwrap();
        assert_eq!(decoded.get("rate"), Some(&10));
        assert_eq!(decoded.encode(), ok);
        assert!(BTreeMap::<String, i64>::decode(&Value::map([("rate", "x")])).is_err());
        assert!(
            BTreeMap::<String, String>::decode(&Value::empty())
                .unwrap()
                .is_empty()
        );
        assert!(BTreeMap::<String, String>::decode(&Value::set(["a"])).is_err());
    }

    #[test]
    fn real_accepts_integer_atoms() {
        assert_eq!(f64::decode(&Value::from(2)), Ok(2.0));
        assert_eq!(f64::decode(&Value::from(2.5)), Ok(2.5));
    }
}
