//! Typed rows for the tables docker-ovn reads and writes.
//!
//! A [`Row`] is a loose map from column names to [`Value`](crate::Value)s.
//! The structs here give the columns the driver uses Rust types that follow
//! the schema:
//!
//! | schema type                        | [`ColumnKind`]  | Rust type            |
//! |------------------------------------|-----------------|----------------------|
//! | exactly one atom (`min 1, max 1`)  | `Scalar`        | `String`, `i64`, ... |
//! | zero or one atom (`min 0, max 1`)  | `Optional`      | `Option<T>`          |
//! | a set (`max` > 1 or `"unlimited"`) | `Set`           | `Vec<T>`             |
//! | a map (`value` present)            | `Map`           | `BTreeMap<K, V>`     |
//!
//! [`TypedRow::from_row`] reads a row. A column missing from the row gets its
//! empty value (an empty string, zero, `None`, an empty set or map), because
//! a monitor or `select` may fetch only some columns. A column of the wrong
//! type is an [`Error::TypedRow`](crate::Error::TypedRow) naming the table,
//! row, column and problem. [`TypedRow::to_row`] writes every typed column
//! except `_uuid`, ready for an `insert` or `update`.
//!
//! Each struct has `uuid` plus one public field per column. A column named
//! `type` becomes the field `kind`, and `match` becomes `match_`. The wire
//! names are listed in [`TypedRow::COLUMNS`], which
//! `tests/typed_rows_match_schema.rs` checks against the installed
//! `.ovsschema` files.
//!
//! Reference columns are `Vec<Uuid>`. To link to a row inserted in the same
//! transaction, replace that column of the [`Row`] returned by `to_row` with
//! a value holding an [`Atom::NamedUuid`](crate::Atom::NamedUuid).

use uuid::Uuid;

use crate::error::Result;
use crate::schema::AtomicType;
use crate::value::Row;

pub mod decode;

/// Declares a typed-row struct and its [`TypedRow`] implementation from a
/// list of `field: Type = "wire_name"` entries. The list is the only place
/// each column is named, so the struct, `COLUMNS`, `from_row` and `to_row`
/// always agree.
macro_rules! typed_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident : $table:literal {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty = $column:literal, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            /// The row's `_uuid`.
            pub uuid: $crate::Uuid,
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $crate::rows::TypedRow for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [$crate::rows::ColumnSpec] = &[
                $( $crate::rows::ColumnSpec {
                    name: $column,
                    kind: <$ty as $crate::rows::decode::ColumnValue>::KIND,
                }, )*
            ];

            fn from_row(uuid: $crate::Uuid, row: &$crate::Row) -> $crate::Result<Self> {
                Ok(Self {
                    uuid,
                    $( $field: $crate::rows::decode::column(Self::TABLE, uuid, row, $column)?, )*
                })
            }

            fn to_row(&self) -> $crate::Row {
                let mut row = $crate::Row::new();
                $( $crate::rows::decode::put(&mut row, $column, &self.$field); )*
                row
            }
        }
    };
}

mod northbound;
mod open_vswitch;

pub use decode::{Atomic, ColumnValue};
pub use northbound::{
    Acl, AddressSet, LogicalRouter, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort, NbGlobal,
    Qos,
};
pub use open_vswitch::{Bridge, Interface, OpenVSwitch, Port};

/// The shape of a column as the typed rows see it: its cardinality class
/// and atomic type(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Exactly one atom (`min 1, max 1`).
    Scalar(AtomicType),
    /// Zero or one atom (`min 0, max 1`).
    Optional(AtomicType),
    /// A set: `min` 0 or 1, `max` above 1 or unlimited.
    Set(AtomicType),
    /// A map from key type to value type.
    Map(AtomicType, AtomicType),
}

/// One column of a typed row: its wire name and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The column name as the schema spells it.
    pub name: &'static str,
    /// What the Rust field holds.
    pub kind: ColumnKind,
}

/// A Rust struct standing for one row of an OVSDB table.
pub trait TypedRow: Sized {
    /// The table name as the schema spells it.
    const TABLE: &'static str;

    /// Every typed column except `_uuid`, in field order.
    const COLUMNS: &'static [ColumnSpec];

    /// Builds the typed row from a server row. Columns missing from `row`
    /// take their empty value; a column of the wrong type is an
    /// [`Error::TypedRow`](crate::Error::TypedRow).
    fn from_row(uuid: Uuid, row: &Row) -> Result<Self>;

    /// Every typed column except `_uuid`, for an `insert` or `update`.
    fn to_row(&self) -> Row;

    /// The wire names of [`Self::COLUMNS`], e.g. for a monitor request.
    fn column_names() -> Vec<&'static str> {
        Self::COLUMNS.iter().map(|spec| spec.name).collect()
    }
}
