//! Database schemas (RFC 7047 section 3.2), as `get_schema` returns them
//! and as the `.ovsschema` files hold them.
//!
//! The replica needs column types to read `update2` diffs (a scalar column
//! carries its new value, a set or map column the elements that changed),
//! and the typed rows are checked against the installed schemas with them.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::value::{Atom, Value};

/// The atomic types of RFC 7047 section 3.2, `<atomic-type>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomicType {
    Integer,
    Real,
    Boolean,
    String,
    Uuid,
}

impl AtomicType {
    fn parse(name: &str) -> Result<AtomicType> {
        Ok(match name {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            other => return Err(Error::decode(format!("unknown atomic type {other:?}"))),
        })
    }
}

/// `<base-type>`: the atomic type plus constraints we care about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseType {
    pub atomic: AtomicType,
    /// For uuid columns: the table the reference points to.
    pub ref_table: Option<String>,
}

impl BaseType {
    fn from_json(json: &Json) -> Result<BaseType> {
        match json {
            Json::String(name) => Ok(BaseType {
                atomic: AtomicType::parse(name)?,
                ref_table: None,
            }),
            Json::Object(object) => {
                let name = object
                    .get("type")
                    .and_then(Json::as_str)
                    .ok_or_else(|| Error::decode("base type without \"type\""))?;
                Ok(BaseType {
                    atomic: AtomicType::parse(name)?,
                    ref_table: object
                        .get("refTable")
                        .and_then(Json::as_str)
                        .map(str::to_string),
                })
            }
            other => Err(Error::decode(format!("bad base type {other}"))),
        }
    }
}

/// `<type>` of a column: key, optional value (a map), and cardinality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    pub key: BaseType,
    pub value: Option<BaseType>,
    pub min: u64,
    /// `None` means "unlimited".
    pub max: Option<u64>,
}

impl ColumnType {
    fn from_json(json: &Json) -> Result<ColumnType> {
        if !json.is_object() {
            return Ok(ColumnType {
                key: BaseType::from_json(json)?,
                value: None,
                min: 1,
                max: Some(1),
            });
        }
        let key = json
            .get("key")
            .ok_or_else(|| Error::decode("column type without \"key\""))?;
        let max = match json.get("max") {
            None => Some(1),
            Some(Json::String(s)) if s == "unlimited" => None,
            Some(n) => Some(
                n.as_u64()
                    .ok_or_else(|| Error::decode(format!("bad max {n}")))?,
            ),
        };
        Ok(ColumnType {
            key: BaseType::from_json(key)?,
            value: json.get("value").map(BaseType::from_json).transpose()?,
            min: json.get("min").and_then(Json::as_u64).unwrap_or(1),
            max,
        })
    }

    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// Exactly one atom.
    pub fn is_scalar(&self) -> bool {
        self.value.is_none() && self.min == 1 && self.max == Some(1)
    }

    /// Whether an `update2` modify carries a diff for this column (maps and
    /// sets of more than one element) rather than the new value (scalars
    /// and optional values), as ovsdb-server sends it.
    pub fn is_diffed(&self) -> bool {
        self.is_map() || self.max != Some(1)
    }

    /// The value of a column nobody set (RFC 7047 section 5.2.1): empty
    /// for optional columns, sets and maps, else the atomic type's zero.
    /// ovsdb-server leaves such columns out of `update2` inserts.
    pub fn default_value(&self) -> Value {
        if self.is_map() {
            return Value::Map(Default::default());
        }
        if self.min == 0 {
            return Value::empty();
        }
        Value::from(match self.key.atomic {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::from(""),
            AtomicType::Uuid => Atom::Uuid(uuid::Uuid::nil()),
        })
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSchema {
    pub kind: ColumnType,
    pub ephemeral: bool,
    pub mutable: bool,
}

/// One table of a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    pub columns: BTreeMap<String, ColumnSchema>,
    pub is_root: bool,
    pub indexes: Vec<Vec<String>>,
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.get(name)
    }
}

/// A whole database schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSchema {
    pub name: String,
    pub version: String,
    pub tables: BTreeMap<String, TableSchema>,
}

impl DatabaseSchema {
    /// Parses `<database-schema>` JSON.
    pub fn from_json(json: &Json) -> Result<DatabaseSchema> {
        let field = |name: &str| {
            json.get(name)
                .ok_or_else(|| Error::decode(format!("schema without \"{name}\"")))
        };
        let name = field("name")?.as_str().unwrap_or_default().to_string();
        let version = json
            .get("version")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let tables = field("tables")?
            .as_object()
            .ok_or_else(|| Error::decode("\"tables\" must be an object"))?
            .iter()
            .map(|(table, body)| {
                let parsed = table_from_json(body)
                    .map_err(|e| Error::decode(format!("table {table}: {e}")))?;
                Ok((table.clone(), parsed))
            })
            .collect::<Result<_>>()?;
        Ok(DatabaseSchema {
            name,
            version,
            tables,
        })
    }

    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.get(name)
    }

    /// The type of `table.column`, or a schema error naming what is missing.
    pub fn column_type(&self, table: &str, column: &str) -> Result<&ColumnType> {
        let missing = |what: String| Error::Schema {
            database: self.name.clone(),
            what,
        };
        let table_schema = self
            .table(table)
            .ok_or_else(|| missing(format!("table {table}")))?;
        table_schema
            .column(column)
            .map(|c| &c.kind)
            .ok_or_else(|| missing(format!("column {table}.{column}")))
    }
}

fn table_from_json(json: &Json) -> Result<TableSchema> {
    let columns = json
        .get("columns")
        .and_then(Json::as_object)
        .ok_or_else(|| Error::decode("no \"columns\" object"))?
        .iter()
        .map(|(name, body)| {
            let kind = body
                .get("type")
                .ok_or_else(|| Error::decode(format!("column {name} without type")))
                .and_then(ColumnType::from_json)?;
            let flag =
                |key: &str, default: bool| body.get(key).and_then(Json::as_bool).unwrap_or(default);
            Ok((
                name.clone(),
                ColumnSchema {
                    kind,
                    ephemeral: flag("ephemeral", false),
                    mutable: flag("mutable", true),
                },
            ))
        })
        .collect::<Result<_>>()?;
    let indexes = json
        .get("indexes")
        .and_then(Json::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Json::as_array)
                .map(|cols| {
                    cols.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(TableSchema {
        columns,
        is_root: json.get("isRoot").and_then(Json::as_bool).unwrap_or(false),
        indexes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_scalar_optional_set_and_map_columns() {
        let schema = DatabaseSchema::from_json(&json!({
            "name": "T", "version": "1.0.0",
            "tables": {"Port": {"isRoot": true, "indexes": [["name"]], "columns": {
                "name": {"type": "string"},
                "tag": {"type": {"key": {"type": "integer", "minInteger": 0}, "min": 0, "max": 1}},
                "interfaces": {"type": {"key": {"type": "uuid", "refTable": "Interface"}, "min": 1, "max": "unlimited"}},
                "external_ids": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}
            }}}
        }))
        .unwrap();
        let port = schema.table("Port").unwrap();
        assert!(port.is_root);
        assert_eq!(port.indexes, vec![vec!["name".to_string()]]);
        assert!(schema.column_type("Port", "name").unwrap().is_scalar());
        let tag = schema.column_type("Port", "tag").unwrap();
        assert!(!tag.is_scalar() && tag.max == Some(1) && tag.min == 0);
        let ifaces = schema.column_type("Port", "interfaces").unwrap();
        assert_eq!(ifaces.max, None);
        assert_eq!(ifaces.key.ref_table.as_deref(), Some("Interface"));
        assert!(schema.column_type("Port", "external_ids").unwrap().is_map());
        assert!(matches!(
            schema.column_type("Port", "nope"),
            Err(Error::Schema { .. })
        ));
    }
}
