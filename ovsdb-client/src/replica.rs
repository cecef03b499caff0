//! A local replica of monitored tables, kept equal to the server by
//! `monitor_cond` and `update2`, with waits on conditions that wake on
//! change instead of polling.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::intern::Interner;
use crate::monitor::{RowUpdate2, for_each_update2};
use crate::rows::TypedRow;
use crate::schema::DatabaseSchema;
use crate::value::{Atom, Row, Value};

/// The replicated rows: table name to rows by UUID, and the rows by name
/// where the schema makes a column unique.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tables {
    tables: BTreeMap<String, HashMap<Uuid, Row>>,
    /// Table, then column, to the row holding each value, for every
    /// monitored string column the schema indexes alone (a port's
    /// `name`): lookups by name that stay O(1) with thousands of rows,
    /// where scans by name were 28% of a daemon's CPU at 1000 endpoints.
    unique: BTreeMap<String, BTreeMap<String, HashMap<Arc<str>, Uuid>>>,
}

impl Tables {
    /// The rows of `table` (none when it is not monitored or empty).
    pub fn rows(&self, table: &str) -> impl Iterator<Item = (Uuid, &Row)> {
        self.tables
            .get(table)
            .into_iter()
            .flat_map(|rows| rows.iter().map(|(uuid, row)| (*uuid, row)))
    }

    pub fn get(&self, table: &str, uuid: Uuid) -> Option<&Row> {
        self.tables.get(table)?.get(&uuid)
    }

    /// The first row of `table` for which `matches` holds.
    pub fn find(&self, table: &str, matches: impl Fn(&Row) -> bool) -> Option<(Uuid, &Row)> {
        self.rows(table).find(|(_, row)| matches(row))
    }

    /// The row of `table` whose string column `column` is `value`: from
    /// the index when the schema declares the column unique by itself
    /// (and it is monitored), by a scan otherwise.
    pub fn find_by(&self, table: &str, column: &str, value: &str) -> Option<(Uuid, &Row)> {
        match self
            .unique
            .get(table)
            .and_then(|columns| columns.get(column))
        {
            Some(index) => {
                let uuid = *index.get(value)?;
                self.get(table, uuid).map(|row| (uuid, row))
            }
            None => self.find(table, |row| row.get_str(column) == Some(value)),
        }
    }

    /// Number of rows in `table`.
    pub fn len(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, HashMap::len)
    }

    /// Every row of `table` decoded as `T`.
    pub fn typed<T: TypedRow>(&self) -> Result<Vec<T>> {
        self.rows(T::TABLE)
            .map(|(uuid, row)| T::from_row(uuid, row))
            .collect()
    }

    fn apply(&mut self, layout: &Layout, strings: &mut Interner, change: Change) {
        let Change {
            table,
            uuid,
            update,
        } = change;
        self.unindex(layout, &table, uuid);
        let rows = match self.tables.get_mut(&table) {
            Some(rows) => rows,
            None => self.tables.entry(table.clone()).or_default(),
        };
        match update {
            RowUpdate2::Initial(row) | RowUpdate2::Insert(row) => {
                rows.insert(uuid, layout.complete(&table, row, strings));
            }
            RowUpdate2::Delete => {
                rows.remove(&uuid);
            }
            RowUpdate2::Modify(diff) => {
                let row = rows.entry(uuid).or_default();
                layout.apply_modify(&table, row, diff, strings);
            }
        }
        self.index(layout, &table, uuid);
    }

    /// Takes row `uuid` out of `table`'s unique indexes. Only an entry
    /// that names this row: within one update, a row may take a name
    /// before the row that held it is deleted.
    fn unindex(&mut self, layout: &Layout, table: &str, uuid: Uuid) {
        let Some(row) = self.tables.get(table).and_then(|rows| rows.get(&uuid)) else {
            return;
        };
        for column in layout.unique_columns(table) {
            let Some(value) = row.get_str(column) else {
                continue;
            };
            if let Some(index) = self.unique.get_mut(table).and_then(|c| c.get_mut(column))
                && index.get(value) == Some(&uuid)
            {
                index.remove(value);
            }
        }
    }

    /// Puts row `uuid`, as it is now, into `table`'s unique indexes.
    fn index(&mut self, layout: &Layout, table: &str, uuid: Uuid) {
        let Some(row) = self.tables.get(table).and_then(|rows| rows.get(&uuid)) else {
            return;
        };
        for column in layout.unique_columns(table) {
            let Some(Atom::String(value)) = row.get(column).and_then(Value::atom) else {
                continue;
            };
            // Keys are allocated once per table and column, not per change.
            let columns = match self.unique.get_mut(table) {
                Some(columns) => columns,
                None => self.unique.entry(table.to_string()).or_default(),
            };
            let index = match columns.get_mut(column) {
                Some(index) => index,
                None => columns.entry(column.clone()).or_default(),
            };
            index.insert(Arc::clone(value), uuid);
        }
    }
}

/// One row's change, decoded.
struct Change {
    table: String,
    uuid: Uuid,
    update: RowUpdate2,
}

/// Values this small lose their spare capacity after a diff; larger ones
/// (a bridge's `ports`) keep it, so that adding one element at a time
/// stays amortised O(1) in reallocations.
const SHRINK_UP_TO: usize = 32;

/// The schema plus which columns of each table are monitored.
#[derive(Debug)]
pub(crate) struct Layout {
    schema: DatabaseSchema,
    columns: HashMap<String, Vec<String>>,
    /// Per table, the monitored columns the schema indexes alone.
    unique: HashMap<String, Vec<String>>,
    /// One shared copy of every column name, for all rows.
    names: BTreeSet<Arc<str>>,
}

impl Layout {
    /// `monitored` maps a table to its requested columns (`None`: all).
    pub(crate) fn new(
        schema: DatabaseSchema,
        monitored: &[(String, Option<Vec<String>>)],
    ) -> Layout {
        let mut columns: HashMap<String, Vec<String>> = HashMap::new();
        for (table, requested) in monitored {
            let all = || {
                schema
                    .table(table)
                    .map(|t| t.columns.keys().cloned().collect())
                    .unwrap_or_default()
            };
            let list = columns.entry(table.clone()).or_default();
            list.extend(requested.clone().unwrap_or_else(all));
            list.sort();
            list.dedup();
        }
        let unique = columns
            .iter()
            .map(|(table, monitored)| (table.clone(), unique_columns(&schema, table, monitored)))
            .collect();
        let names = schema
            .tables
            .values()
            .flat_map(|t| t.columns.keys())
            .chain(["_uuid".to_string(), "_version".to_string()].iter())
            .map(|name| Arc::from(name.as_str()))
            .collect();
        Layout {
            schema,
            columns,
            unique,
            names,
        }
    }

    fn unique_columns(&self, table: &str) -> &[String] {
        self.unique.get(table).map_or(&[], Vec::as_slice)
    }

    /// Adds the monitored columns the server left out for being default,
    /// and points names and strings at their shared copies.
    fn complete(&self, table: &str, mut row: Row, strings: &mut Interner) -> Row {
        for column in self.columns.get(table).into_iter().flatten() {
            if let Ok(kind) = self.schema.column_type(table, column) {
                row.get_or_insert_with(column, || kind.default_value());
            }
        }
        row.share_names(|name| self.names.get(name).cloned());
        row.for_each_string(&mut |s| strings.share(s));
        row
    }

    fn apply_modify(&self, table: &str, row: &mut Row, mut diff: Row, strings: &mut Interner) {
        // Shared before the diff is applied, so what it copies is shared.
        diff.for_each_string(&mut |s| strings.share(s));
        for (column, change) in diff.columns() {
            match self.schema.column_type(table, column) {
                Ok(kind) if kind.is_diffed() => {
                    let current = row.get_or_insert_with(column, || kind.default_value());
                    if kind.is_map() {
                        current.apply_map_diff(change);
                    } else {
                        current.apply_set_diff(change);
                    }
                    if current.len() <= SHRINK_UP_TO {
                        current.shrink_to_fit();
                    }
                }
                // Scalars and optional values carry their new value.
                _ => row.insert(column, change.clone()),
            }
        }
        row.share_names(|name| self.names.get(name).cloned());
    }
}

/// The columns of `monitored` that a schema index of `table` names alone.
fn unique_columns(schema: &DatabaseSchema, table: &str, monitored: &[String]) -> Vec<String> {
    let indexes = schema
        .table(table)
        .map_or(&[][..], |t| t.indexes.as_slice());
    indexes
        .iter()
        .filter_map(|index| match index.as_slice() {
            [column] if monitored.contains(column) => Some(column.clone()),
            _ => None,
        })
        .collect()
}

#[derive(Debug)]
pub(crate) struct ReplicaShared {
    database: String,
    layout: Layout,
    tables: RwLock<Tables>,
    /// The shared copies of the rows' strings; locked before `tables`.
    strings: Mutex<Interner>,
    version: watch::Sender<u64>,
}

impl ReplicaShared {
    pub(crate) fn new(layout: Layout) -> ReplicaShared {
        ReplicaShared {
            database: layout.schema.name.clone(),
            layout,
            tables: RwLock::new(Tables::default()),
            strings: Mutex::new(Interner::default()),
            version: watch::Sender::new(0),
        }
    }

    /// Replaces the contents with the initial state of a (re)started monitor.
    pub(crate) fn reset(&self, initial: &Json) -> Result<()> {
        let mut strings = self.strings();
        let mut fresh = Tables::default();
        for_each_update2(initial, |table, uuid, update| {
            let table = table.to_string();
            fresh.apply(
                &self.layout,
                &mut strings,
                Change {
                    table,
                    uuid,
                    update,
                },
            );
            Ok(())
        })?;
        *self.write() = fresh;
        strings.sweep_now();
        self.bump();
        Ok(())
    }

    /// Applies one `update2` notification. A malformed one is rejected
    /// whole, so the replica never holds half an update.
    pub(crate) fn apply_update2(&self, updates: &Json) -> Result<()> {
        let mut changes = Vec::new();
        for_each_update2(updates, |table, uuid, update| {
            let table = table.to_string();
            changes.push(Change {
                table,
                uuid,
                update,
            });
            Ok(())
        })?;
        let mut strings = self.strings();
        {
            let mut tables = self.write();
            for change in changes {
                tables.apply(&self.layout, &mut strings, change);
            }
        }
        strings.sweep();
        self.bump();
        Ok(())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied update
        // (updates are decoded before the lock is taken), so poison is moot.
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }

    fn strings(&self) -> MutexGuard<'_, Interner> {
        // Sharing strings is only an economy: any state of it is sound.
        self.strings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }
}

/// A handle on a replica; cheap to clone.
#[derive(Debug, Clone)]
pub struct Replica {
    pub(crate) shared: Arc<ReplicaShared>,
}

impl Replica {
    /// The database replicated.
    pub fn database(&self) -> &str {
        &self.shared.database
    }

    /// The schema the server reported.
    pub fn schema(&self) -> &DatabaseSchema {
        &self.shared.layout.schema
    }

    /// Runs `f` on the current contents (under a read lock: keep it short).
    pub fn read<R>(&self, f: impl FnOnce(&Tables) -> R) -> R {
        f(&self.shared.read())
    }

    /// A copy of the current contents.
    pub fn snapshot(&self) -> Tables {
        self.shared.read().clone()
    }

    /// Counts applied changes (initial states and updates).
    pub fn version(&self) -> u64 {
        *self.shared.version.borrow()
    }

    /// A receiver that wakes whenever the replica changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.version.subscribe()
    }

    /// Waits until `check` returns `Some`, re-checking after each change;
    /// fails with [`Error::Timeout`] when `timeout` passes first.
    pub async fn wait_for<R>(
        &self,
        timeout: Duration,
        what: &str,
        check: impl Fn(&Tables) -> Option<R>,
    ) -> Result<R> {
        let mut changes = self.changes();
        let wait = async {
            loop {
                if let Some(found) = self.read(&check) {
                    return Ok(found);
                }
                if changes.changed().await.is_err() {
                    return Err(Error::Closed {
                        target: self.shared.database.clone(),
                    });
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    target: self.shared.database.clone(),
                    method: format!("wait for {what}"),
                    timeout,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layout() -> Layout {
        let schema = DatabaseSchema::from_json(&json!({"name": "T", "tables": {"P": {"columns": {
            "name": {"type": "string"},
            "tags": {"type": {"key": "integer", "min": 0, "max": "unlimited"}},
            "opt": {"type": {"key": "boolean", "min": 0, "max": 1}},
            "ids": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}
        }}}}))
        .unwrap();
        Layout::new(schema, &[("P".to_string(), None)])
    }

    #[test]
    fn initial_modify_and_delete_follow_update2_semantics() {
        let replica = ReplicaShared::new(layout());
        let u = Uuid::from_u128(9);
        replica
            .reset(&json!({"P": {u.to_string(): {"initial": {
                "name": "a", "tags": ["set", [1, 2]], "ids": ["map", [["k", "v"], ["x", "y"]]]}}}}))
            .unwrap();
        replica
            .apply_update2(&json!({"P": {u.to_string(): {"modify": {
                "name": "b", "tags": ["set", [2, 3]], "ids": ["map", [["k", "v"], ["x", "z"], ["n", "m"]]]}}}}))
            .unwrap();
        let tables = replica.read().clone();
        let row = tables.get("P", u).unwrap();
        assert_eq!(row.get_str("name"), Some("b"));
        assert_eq!(row.get("tags"), Some(&Value::set([1i64, 3])));
        assert_eq!(row.get("ids"), Some(&Value::map([("x", "z"), ("n", "m")])));
        replica
            .apply_update2(&json!({"P": {u.to_string(): {"delete": null}}}))
            .unwrap();
        assert_eq!(replica.read().len("P"), 0);
    }

    /// `P.name` unique by the schema, `P.label` and `Q.name` not.
    fn indexed_layout() -> Layout {
        let columns = json!({"name": {"type": "string"}, "label": {"type": "string"}});
        let schema = DatabaseSchema::from_json(&json!({"name": "T", "tables": {
            "P": {"columns": columns, "indexes": [["name"], ["name", "label"]]},
            "Q": {"columns": columns}}}))
        .unwrap();
        Layout::new(schema, &[("P".to_string(), None), ("Q".to_string(), None)])
    }

    #[test]
    fn lookups_by_a_unique_column_follow_inserts_renames_and_deletes() {
        let replica = ReplicaShared::new(indexed_layout());
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let named = |name: &str| replica.read().find_by("P", "name", name).map(|(u, _)| u);
        replica
            .reset(&json!({"P": {a.to_string(): {"initial": {"name": "x"}},
                                 b.to_string(): {"initial": {"name": "y"}}}}))
            .unwrap();
        assert_eq!(
            (named("x"), named("y"), named("z")),
            (Some(a), Some(b), None)
        );
        // One update: `a` takes `y` from `b` before `b` goes in the same
        // update, and `c` takes `a`'s old name.
        replica
            .apply_update2(&json!({"P": {
                a.to_string(): {"modify": {"name": "y"}},
                b.to_string(): {"delete": null},
                c.to_string(): {"insert": {"name": "x"}}}}))
            .unwrap();
        assert_eq!((named("x"), named("y")), (Some(c), Some(a)));
        replica
            .apply_update2(&json!({"P": {c.to_string(): {"delete": null}}}))
            .unwrap();
        assert_eq!((named("x"), named("y")), (None, Some(a)));
        let tables = replica.read().clone();
        let indexed: Vec<_> = tables
            .unique
            .iter()
            .flat_map(|(t, c)| c.keys().map(move |c| (t, c)))
            .collect();
        assert_eq!(
            indexed,
            [(&"P".to_string(), &"name".to_string())],
            "only P.name is indexed"
        );
    }

    #[test]
    fn lookups_by_other_columns_scan() {
        let replica = ReplicaShared::new(indexed_layout());
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        replica
            .reset(
                &json!({"P": {a.to_string(): {"initial": {"name": "x", "label": "l"}}},
                           "Q": {b.to_string(): {"initial": {"name": "x"}}}}),
            )
            .unwrap();
        let tables = replica.read().clone();
        assert_eq!(tables.find_by("P", "label", "l").map(|(u, _)| u), Some(a));
        assert_eq!(tables.find_by("Q", "name", "x").map(|(u, _)| u), Some(b));
        assert_eq!(tables.find_by("Q", "name", "y"), None);
    }

    #[test]
    fn defaults_fill_omitted_columns_and_optional_values_are_replaced() {
        let replica = ReplicaShared::new(layout());
        let u = Uuid::from_u128(3);
        let row = |r: &ReplicaShared| r.read().get("P", u).cloned().unwrap();
        replica
            .apply_update2(&json!({"P": {u.to_string(): {"insert": {"opt": false}}}}))
            .unwrap();
        assert_eq!(row(&replica).get_str("name"), Some(""));
        assert_eq!(row(&replica).get("tags"), Some(&Value::empty()));
        assert_eq!(
            row(&replica).get("ids"),
            Some(&Value::map::<_, &str, &str>([]))
        );
        replica
            .apply_update2(&json!({"P": {u.to_string(): {"modify": {"opt": true}}}}))
            .unwrap();
        assert_eq!(row(&replica).get("opt"), Some(&Value::from(true)));
        replica
            .apply_update2(&json!({"P": {u.to_string(): {"modify": {"opt": ["set", []]}}}}))
            .unwrap();
        assert_eq!(row(&replica).get("opt"), Some(&Value::empty()));
    }

    #[test]
    fn equal_strings_of_different_rows_and_updates_are_one_copy() {
        let replica = ReplicaShared::new(layout());
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let ids = json!(["map", [["owner", "docker-ovn"]]]);
        replica
            .reset(&json!({"P": {a.to_string(): {"initial": {"name": "x", "ids": ids}}}}))
            .unwrap();
        replica
            .apply_update2(&json!({"P": {b.to_string(): {"insert": {"name": "y", "ids": ids}}}}))
            .unwrap();
        replica
            .apply_update2(&json!({"P": {a.to_string(): {"modify": {"name": "y"}}}}))
            .unwrap();
        let tables = replica.read();
        let string = |uuid, column: &str| match tables.get("P", uuid).unwrap().get(column) {
            Some(Value::Set(atoms)) => atoms[0].clone(),
            Some(Value::Map(entries)) => entries[0].1.clone(),
            None => panic!("no {column}"),
        };
        let same = |x: Atom, y: Atom| match (x, y) {
            (Atom::String(x), Atom::String(y)) => Arc::ptr_eq(&x, &y),
            _ => false,
        };
        assert!(same(string(a, "ids"), string(b, "ids")));
        assert!(same(string(a, "name"), string(b, "name")));
    }

    #[test]
    fn malformed_update_changes_nothing() {
        let replica = ReplicaShared::new(layout());
        let u = Uuid::from_u128(1);
        let before = replica.read().clone();
        let bad = json!({"P": {u.to_string(): {"insert": {"name": "a"}}}, "Q": {"not-a-uuid": {"delete": null}}});
        assert!(replica.apply_update2(&bad).is_err());
        assert_eq!(*replica.read(), before);
    }

    #[tokio::test]
    async fn wait_for_wakes_on_change_and_times_out() {
        let replica = Replica {
            shared: Arc::new(ReplicaShared::new(layout())),
        };
        let u = Uuid::from_u128(5);
        let writer = replica.shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            writer
                .apply_update2(&json!({"P": {u.to_string(): {"insert": {"name": "ready"}}}}))
                .unwrap();
        });
        let found = replica
            .wait_for(Duration::from_secs(5), "ready row", |t| {
                t.find("P", |r| r.get_str("name") == Some("ready"))
                    .map(|(u, _)| u)
            })
            .await
            .unwrap();
        assert_eq!(found, u);
        let err = replica
            .wait_for(Duration::from_millis(30), "never", |_| None::<()>)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }));
    }
}
