//! Checks every typed row against the schemas installed on this machine:
//! each column must exist and have exactly the kind the struct declares
//! (atomic key type, value type for maps, min/max cardinality class).
//!
//! A missing schema file fails the test and names the Debian package to
//! install; it is never skipped.

use ovsdb_client::rows::{
    Acl, AddressSet, Bridge, ColumnKind, ColumnSpec, Interface, LogicalRouter, LogicalRouterPort,
    LogicalSwitch, LogicalSwitchPort, NbGlobal, OpenVSwitch, Port, Qos, TypedRow,
};
use ovsdb_client::schema::{AtomicType, ColumnType, DatabaseSchema};
use ovsdb_client::{Result, Row, Uuid};
use serde_json::json;

const VSWITCH_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";
const NB_SCHEMA: &str = "/usr/share/ovn/ovn-nb.ovsschema";

/// Reads and parses a schema file, panicking with the package to install
/// when it is missing.
fn load_schema(path: &str, package: &str) -> DatabaseSchema {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("cannot read {path}: {e}; install the Debian package `{package}` (apt-get install {package})")
    });
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
    DatabaseSchema::from_json(&json).unwrap_or_else(|e| panic!("{path} is not a schema: {e}"))
}

/// The typed kind a column of schema type `ty` must have, or why no typed
/// kind can hold it.
fn expected_kind(ty: &ColumnType) -> std::result::Result<ColumnKind, String> {
    let key = ty.key.atomic;
    match (&ty.value, ty.min, ty.max) {
        (Some(value), 0 | 1, _) => Ok(ColumnKind::Map(key, value.atomic)),
        (None, 1, Some(1)) => Ok(ColumnKind::Scalar(key)),
        (None, 0, Some(1)) => Ok(ColumnKind::Optional(key)),
        (None, 0 | 1, None) => Ok(ColumnKind::Set(key)),
        (None, 0 | 1, Some(max)) if max > 1 => Ok(ColumnKind::Set(key)),
        (_, min, max) => Err(format!("no typed kind fits min {min}, max {max:?}")),
    }
}

/// One line per disagreement between `T` and `schema`; empty when they
/// agree.
fn mismatches<T: TypedRow>(schema: &DatabaseSchema) -> Vec<String> {
    let Some(table) = schema.table(T::TABLE) else {
        return vec![format!("table {} is not in {}", T::TABLE, schema.name)];
    };
    let mut problems = Vec::new();
    for (i, spec) in T::COLUMNS.iter().enumerate() {
        let ColumnSpec { name, kind } = *spec;
        let at = format!("{}.{name}", T::TABLE);
        if T::COLUMNS[..i].iter().any(|earlier| earlier.name == name) {
            problems.push(format!("{at}: listed twice"));
        }
        let Some(column) = table.column(name) else {
            problems.push(format!("{at}: no such column in {}", schema.name));
            continue;
        };
        let ty = &column.kind;
        match expected_kind(ty) {
            Ok(expected) if expected == kind => {}
            Ok(expected) => problems.push(format!(
                "{at}: typed as {kind:?}, schema says {expected:?} (min {}, max {:?})",
                ty.min, ty.max
            )),
            Err(reason) => problems.push(format!("{at}: typed as {kind:?}, {reason}")),
        }
    }
    problems
}

/// Panics listing every problem at once.
fn assert_no_problems(path: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "typed rows disagree with {path}:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn open_vswitch_rows_match_vswitch_ovsschema() {
    let schema = load_schema(VSWITCH_SCHEMA, "openvswitch-common");
    assert_eq!(schema.name, "Open_vSwitch");
    let mut problems = mismatches::<OpenVSwitch>(&schema);
    problems.extend(mismatches::<Bridge>(&schema));
    problems.extend(mismatches::<Port>(&schema));
    problems.extend(mismatches::<Interface>(&schema));
    assert_no_problems(VSWITCH_SCHEMA, problems);
}

#[test]
fn northbound_rows_match_ovn_nb_ovsschema() {
    let schema = load_schema(NB_SCHEMA, "ovn-common");
    assert_eq!(schema.name, "OVN_Northbound");
    let mut problems = mismatches::<NbGlobal>(&schema);
    problems.extend(mismatches::<LogicalSwitch>(&schema));
    problems.extend(mismatches::<LogicalSwitchPort>(&schema));
    problems.extend(mismatches::<Acl>(&schema));
    problems.extend(mismatches::<AddressSet>(&schema));
    problems.extend(mismatches::<LogicalRouter>(&schema));
    problems.extend(mismatches::<LogicalRouterPort>(&schema));
    problems.extend(mismatches::<Qos>(&schema));
    assert_no_problems(NB_SCHEMA, problems);
}

/// A deliberately wrong typed row, to show the check finds every problem.
struct Wrong;

impl TypedRow for Wrong {
    const TABLE: &'static str = "Port";
    const COLUMNS: &'static [ColumnSpec] = &[
        ColumnSpec {
            name: "name",
            kind: ColumnKind::Scalar(AtomicType::String),
        },
        ColumnSpec {
            name: "tag",
            kind: ColumnKind::Scalar(AtomicType::Integer),
        },
        ColumnSpec {
            name: "trunks",
            kind: ColumnKind::Set(AtomicType::String),
        },
        ColumnSpec {
            name: "nope",
            kind: ColumnKind::Optional(AtomicType::String),
        },
        ColumnSpec {
            name: "name",
            kind: ColumnKind::Scalar(AtomicType::String),
        },
    ];

    fn from_row(_: Uuid, _: &Row) -> Result<Self> {
        Ok(Wrong)
    }

    fn to_row(&self) -> Row {
        Row::new()
    }
}

#[test]
fn the_check_reports_every_mismatch() {
    let schema = DatabaseSchema::from_json(&json!({
        "name": "T", "version": "1.0.0",
        "tables": {"Port": {"columns": {
            "name": {"type": "string"},
            "tag": {"type": {"key": "integer", "min": 0, "max": 1}},
            "trunks": {"type": {"key": "integer", "min": 0, "max": 4096}}
        }}}
    }))
    .expect("test schema parses");
    let problems = mismatches::<Wrong>(&schema);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("Port.tag: typed as Scalar(Integer), schema says Optional"));
    assert!(problems[1].starts_with("Port.trunks: typed as Set(String), schema says Set(Integer)"));
    assert!(problems[2].starts_with("Port.nope: no such column"));
    assert!(problems[3].starts_with("Port.name: listed twice"));
    assert_eq!(mismatches::<Bridge>(&schema).len(), 1);
}
