//! Monitor requests (`monitor`, `monitor_cond`) and the updates they bring.

use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::transaction::Condition;
use crate::value::Row;

/// Which kinds of change a monitor reports (RFC 7047 `<monitor-select>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorSelect {
    pub initial: bool,
    pub insert: bool,
    pub delete: bool,
    pub modify: bool,
}

impl Default for MonitorSelect {
    fn default() -> Self {
        MonitorSelect {
            initial: true,
            insert: true,
            delete: true,
            modify: true,
        }
    }
}

/// What to monitor in one table: columns, and for `monitor_cond` a `where`.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorRequest {
    pub table: String,
    /// `None` means every column.
    pub columns: Option<Vec<String>>,
    /// `None` means every row (only `monitor_cond` sends conditions).
    pub conditions: Option<Vec<Condition>>,
    pub select: MonitorSelect,
}

impl MonitorRequest {
    /// Every column and row of `table`.
    pub fn new(table: &str) -> MonitorRequest {
        MonitorRequest {
            table: table.to_string(),
            columns: None,
            conditions: None,
            select: MonitorSelect::default(),
        }
    }

    /// Limits the monitor to these columns.
    pub fn columns(mut self, columns: &[&str]) -> MonitorRequest {
        self.columns = Some(columns.iter().map(|c| c.to_string()).collect());
        self
    }

    /// Limits the monitor to rows matching all of `conditions`.
    pub fn conditions(mut self, conditions: Vec<Condition>) -> MonitorRequest {
        self.conditions = Some(conditions);
        self
    }

    pub fn select(mut self, select: MonitorSelect) -> MonitorRequest {
        self.select = select;
        self
    }

    fn to_json(&self, conditional: bool) -> Json {
        let mut body = Map::new();
        if let Some(columns) = &self.columns {
            body.insert("columns".into(), json!(columns));
        }
        if conditional && let Some(conditions) = &self.conditions {
            body.insert(
                "where".into(),
                Json::Array(conditions.iter().map(Condition::to_json).collect()),
            );
        }
        let s = self.select;
        body.insert(
            "select".into(),
            json!({"initial": s.initial, "insert": s.insert, "delete": s.delete, "modify": s.modify}),
        );
        Json::Object(body)
    }
}

/// Builds `<monitor-requests>`: table name to a list of requests.
pub(crate) fn requests_json(requests: &[MonitorRequest], conditional: bool) -> Json {
    let mut tables: Map<String, Json> = Map::new();
    for request in requests {
        let entry = tables
            .entry(request.table.clone())
            .or_insert_with(|| Json::Array(Vec::new()));
        if let Json::Array(list) = entry {
            list.push(request.to_json(conditional));
        }
    }
    Json::Object(tables)
}

/// One row's change in an `update2` notification (ovsdb-server(7)).
#[derive(Debug, Clone, PartialEq)]
pub enum RowUpdate2 {
    /// The row as it was when the monitor started.
    Initial(Row),
    Insert(Row),
    /// The columns that changed: new values for scalars, toggled elements
    /// for sets, changed entries for maps.
    Modify(Row),
    Delete,
}

/// Walks `<table-updates2>`, calling `each(table, uuid, change)`.
pub(crate) fn for_each_update2(
    updates: &Json,
    mut each: impl FnMut(&str, Uuid, RowUpdate2) -> Result<()>,
) -> Result<()> {
    let tables = updates
        .as_object()
        .ok_or_else(|| Error::decode(format!("table-updates2 is not an object: {updates}")))?;
    for (table, rows) in tables {
        let rows = rows
            .as_object()
            .ok_or_else(|| Error::decode(format!("updates of {table} are not an object")))?;
        for (uuid, change) in rows {
            let uuid = Uuid::parse_str(uuid)
                .map_err(|e| Error::decode(format!("row uuid {uuid:?} in {table}: {e}")))?;
            each(table, uuid, row_update2(change)?)?;
        }
    }
    Ok(())
}

fn row_update2(change: &Json) -> Result<RowUpdate2> {
    let object = change
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| Error::decode(format!("row-update2 must have one member: {change}")))?;
    let (kind, body) = object
        .iter()
        .next()
        .ok_or_else(|| Error::decode("empty row-update2"))?;
    Ok(match kind.as_str() {
        "initial" => RowUpdate2::Initial(Row::from_json(body)?),
        "insert" => RowUpdate2::Insert(Row::from_json(body)?),
        "modify" => RowUpdate2::Modify(Row::from_json(body)?),
        "delete" => RowUpdate2::Delete,
        other => return Err(Error::decode(format!("unknown row-update2 kind {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_cond_requests_carry_where_and_plain_monitor_does_not() {
        let requests = [
            MonitorRequest::new("Interface")
                .columns(&["name", "external_ids"])
                .conditions(vec![Condition::eq("name", "p1")]),
            MonitorRequest::new("Port"),
        ];
        let cond = requests_json(&requests, true);
        assert_eq!(cond["Interface"][0]["where"], json!([["name", "==", "p1"]]));
        assert_eq!(
            cond["Interface"][0]["columns"],
            json!(["name", "external_ids"])
        );
        assert!(cond["Port"][0].get("columns").is_none());
        let plain = requests_json(&requests, false);
        assert!(plain["Interface"][0].get("where").is_none());
    }

    #[test]
    fn walks_update2() {
        let u = Uuid::from_u128(1);
        let updates = json!({"T": {u.to_string(): {"modify": {"name": "b"}}}});
        let mut seen = Vec::new();
        for_each_update2(&updates, |table, uuid, change| {
            seen.push((table.to_string(), uuid, change));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![(
                "T".into(),
                u,
                RowUpdate2::Modify(Row::new().with("name", "b"))
            )]
        );
        let bad = json!({"T": {u.to_string(): {"modify": {}, "delete": null}}});
        assert!(for_each_update2(&bad, |_, _, _| Ok(())).is_err());
    }
}
