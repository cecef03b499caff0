//! The `transact` method: a builder for the operations of RFC 7047 section
//! 5.2 and typed decoding of their results.
//!
//! ```
//! use ovsdb_client::transaction::{Condition, Mutation, Transaction};
//! use ovsdb_client::{Row, Value};
//!
//! let mut txn = Transaction::new("OVN_Northbound");
//! let port = txn.insert("Logical_Switch_Port", Row::new().with("name", "p1"));
//! txn.mutate(
//!     "Logical_Switch",
//!     vec![Condition::eq("name", "blue")],
//!     vec![Mutation::insert("ports", Value::from(port))],
//! );
//! txn.comment("docker-ovn: add p1");
//! assert_eq!(txn.len(), 3);
//! ```

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::error::{Error, OperationErrorKind, Result, error_object};
use crate::value::{Atom, Row, Value};

/// The comparison functions of RFC 7047 section 5.1, `<function>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
    Includes,
    Excludes,
}

impl Function {
    fn as_str(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }
}

/// `[column, function, value]`: one clause of a `where`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub function: Function,
    pub value: Value,
}

impl Condition {
    pub fn new(column: &str, function: Function, value: impl Into<Value>) -> Condition {
        Condition {
            column: column.to_string(),
            function,
            value: value.into(),
        }
    }
    pub fn eq(column: &str, value: impl Into<Value>) -> Condition {
        Condition::new(column, Function::Eq, value)
    }
    pub fn ne(column: &str, value: impl Into<Value>) -> Condition {
        Condition::new(column, Function::Ne, value)
    }
    pub fn includes(column: &str, value: impl Into<Value>) -> Condition {
        Condition::new(column, Function::Includes, value)
    }
    pub fn excludes(column: &str, value: impl Into<Value>) -> Condition {
        Condition::new(column, Function::Excludes, value)
    }
    /// The row whose `_uuid` is `uuid`.
    pub fn uuid(uuid: Uuid) -> Condition {
        Condition::eq("_uuid", uuid)
    }

    pub fn to_json(&self) -> Json {
        json!([self.column, self.function.as_str(), self.value.to_json()])
    }
}

/// The mutators of RFC 7047 section 5.1, `<mutator>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Insert,
    Delete,
}

impl Mutator {
    fn as_str(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Subtract => "-=",
            Mutator::Multiply => "*=",
            Mutator::Divide => "/=",
            Mutator::Modulo => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }
}

/// `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub column: String,
    pub mutator: Mutator,
    pub value: Value,
}

impl Mutation {
    pub fn new(column: &str, mutator: Mutator, value: impl Into<Value>) -> Mutation {
        Mutation {
            column: column.to_string(),
            mutator,
            value: value.into(),
        }
    }
    /// Adds set elements or map entries (an existing map key is kept).
    pub fn insert(column: &str, value: impl Into<Value>) -> Mutation {
        Mutation::new(column, Mutator::Insert, value)
    }
    /// Removes set elements, map entries, or (given a set of keys) map keys.
    pub fn delete(column: &str, value: impl Into<Value>) -> Mutation {
        Mutation::new(column, Mutator::Delete, value)
    }

    pub fn to_json(&self) -> Json {
        json!([self.column, self.mutator.as_str(), self.value.to_json()])
    }
}

/// `until` of a `wait` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    Equal,
    NotEqual,
}

/// One operation of a transaction (RFC 7047 section 5.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Insert {
        table: String,
        row: Row,
        uuid_name: Option<String>,
        /// Ask the server to use this UUID (an ovsdb-server extension).
        uuid: Option<Uuid>,
    },
    Select {
        table: String,
        conditions: Vec<Condition>,
        columns: Option<Vec<String>>,
    },
    Update {
        table: String,
        conditions: Vec<Condition>,
        row: Row,
    },
    Mutate {
        table: String,
        conditions: Vec<Condition>,
        mutations: Vec<Mutation>,
    },
    Delete {
        table: String,
        conditions: Vec<Condition>,
    },
    Wait {
        table: String,
        conditions: Vec<Condition>,
        columns: Vec<String>,
        until: WaitUntil,
        rows: Vec<Row>,
        timeout: Option<Duration>,
    },
    Commit {
        durable: bool,
    },
    Abort,
    Comment(String),
    Assert {
        lock: String,
    },
}

fn conditions_json(conditions: &[Condition]) -> Json {
    Json::Array(conditions.iter().map(Condition::to_json).collect())
}

impl Operation {
    /// The JSON object sent to the server.
    pub fn to_json(&self) -> Json {
        match self {
            Operation::Insert {
                table,
                row,
                uuid_name,
                uuid,
            } => {
                let mut op = json!({"op": "insert", "table": table, "row": row.to_json()});
                if let Some(name) = uuid_name {
                    op["uuid-name"] = json!(name);
                }
                if let Some(uuid) = uuid {
                    op["uuid"] = json!(uuid.to_string());
                }
                op
            }
            Operation::Select {
                table,
                conditions,
                columns,
            } => {
                let mut op =
                    json!({"op": "select", "table": table, "where": conditions_json(conditions)});
                if let Some(columns) = columns {
                    op["columns"] = json!(columns);
                }
                op
            }
            Operation::Update {
                table,
                conditions,
                row,
            } => {
                json!({"op": "update", "table": table, "where": conditions_json(conditions), "row": row.to_json()})
            }
            Operation::Mutate {
                table,
                conditions,
                mutations,
            } => json!({"op": "mutate", "table": table, "where": conditions_json(conditions),
                        "mutations": mutations.iter().map(Mutation::to_json).collect::<Vec<_>>()}),
            Operation::Delete { table, conditions } => {
                json!({"op": "delete", "table": table, "where": conditions_json(conditions)})
            }
            Operation::Wait { .. } => self.wait_json(),
            Operation::Commit { durable } => json!({"op": "commit", "durable": durable}),
            Operation::Abort => json!({"op": "abort"}),
            Operation::Comment(comment) => json!({"op": "comment", "comment": comment}),
            Operation::Assert { lock } => json!({"op": "assert", "lock": lock}),
        }
    }

    fn wait_json(&self) -> Json {
        let Operation::Wait {
            table,
            conditions,
            columns,
            until,
            rows,
            timeout,
        } = self
        else {
            return Json::Null;
        };
        let mut op = json!({
            "op": "wait", "table": table, "where": conditions_json(conditions),
            "columns": columns,
            "until": if *until == WaitUntil::Equal { "==" } else { "!=" },
            "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        });
        if let Some(timeout) = timeout {
            op["timeout"] = json!(timeout.as_millis() as u64);
        }
        op
    }
}

/// A transaction under construction: operations run in order, atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    database: String,
    operations: Vec<Operation>,
    next_name: usize,
}

impl Transaction {
    pub fn new(database: &str) -> Transaction {
        Transaction {
            database: database.to_string(),
            operations: Vec::new(),
            next_name: 0,
        }
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Appends any operation; returns its index in the results.
    pub fn push(&mut self, operation: Operation) -> usize {
        self.operations.push(operation);
        self.operations.len() - 1
    }

    /// Inserts a row under a generated name; the returned named-uuid atom
    /// can be used in later operations of this transaction.
    pub fn insert(&mut self, table: &str, row: Row) -> Atom {
        let name = format!("row{}", self.next_name);
        self.next_name += 1;
        self.insert_named(table, row, &name)
    }

    /// Inserts a row under a chosen `uuid-name`.
    pub fn insert_named(&mut self, table: &str, row: Row, name: &str) -> Atom {
        self.push(Operation::Insert {
            table: table.to_string(),
            row,
            uuid_name: Some(name.to_string()),
            uuid: None,
        });
        Atom::NamedUuid(name.to_string())
    }

    pub fn select(&mut self, table: &str, conditions: Vec<Condition>) -> usize {
        self.push(Operation::Select {
            table: table.to_string(),
            conditions,
            columns: None,
        })
    }

    pub fn select_columns(
        &mut self,
        table: &str,
        conditions: Vec<Condition>,
        columns: &[&str],
    ) -> usize {
        self.push(Operation::Select {
            table: table.to_string(),
            conditions,
            columns: Some(columns.iter().map(|c| c.to_string()).collect()),
        })
    }

    pub fn update(&mut self, table: &str, conditions: Vec<Condition>, row: Row) -> usize {
        self.push(Operation::Update {
            table: table.to_string(),
            conditions,
            row,
        })
    }

    pub fn mutate(
        &mut self,
        table: &str,
        conditions: Vec<Condition>,
        mutations: Vec<Mutation>,
    ) -> usize {
        self.push(Operation::Mutate {
            table: table.to_string(),
            conditions,
            mutations,
        })
    }

    /// Removes every reference to `uuid` from `column` of `table`: the way
    /// to delete a row of a non-root table, which the server then collects
    /// once nothing refers to it.
    pub fn unlink(&mut self, table: &str, column: &str, uuid: Uuid) -> usize {
        self.mutate(
            table,
            vec![Condition::includes(column, uuid)],
            vec![Mutation::delete(column, uuid)],
        )
    }

    pub fn delete(&mut self, table: &str, conditions: Vec<Condition>) -> usize {
        self.push(Operation::Delete {
            table: table.to_string(),
            conditions,
        })
    }

    /// Waits until the `columns` of the rows matching `conditions` are (or
    /// are not) exactly `rows`. With a zero or no timeout a mismatch fails
    /// the transaction at once with [`OperationErrorKind::TimedOut`]: the
    /// optimistic check that makes read-modify-write safe.
    pub fn wait(
        &mut self,
        table: &str,
        conditions: Vec<Condition>,
        columns: &[&str],
        until: WaitUntil,
        rows: Vec<Row>,
        timeout: Option<Duration>,
    ) -> usize {
        self.push(Operation::Wait {
            table: table.to_string(),
            conditions,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            until,
            rows,
            timeout,
        })
    }

    pub fn commit(&mut self, durable: bool) -> usize {
        self.push(Operation::Commit { durable })
    }

    pub fn abort(&mut self) -> usize {
        self.push(Operation::Abort)
    }

    /// A comment the server writes to its log with the transaction.
    pub fn comment(&mut self, comment: &str) -> usize {
        self.push(Operation::Comment(comment.to_string()))
    }

    /// Fails the transaction unless this client holds `lock`.
    pub fn assert_lock(&mut self, lock: &str) -> usize {
        self.push(Operation::Assert {
            lock: lock.to_string(),
        })
    }

    /// The `params` of the `transact` request.
    pub fn to_params(&self) -> Json {
        let mut params = vec![json!(self.database)];
        params.extend(self.operations.iter().map(Operation::to_json));
        Json::Array(params)
    }

    /// Decodes the `result` of the `transact` reply.
    pub fn parse_reply(&self, result: &Json) -> Result<TransactionOutcome> {
        let entries = result
            .as_array()
            .ok_or_else(|| Error::decode(format!("transact result is not an array: {result}")))?;
        let mut outcome = TransactionOutcome::default();
        for (index, entry) in entries.iter().enumerate() {
            if let Some((error, details)) = error_object(entry) {
                return Err(Error::Transaction {
                    database: self.database.clone(),
                    operation: (index < self.operations.len()).then_some(index),
                    kind: OperationErrorKind::from_error_string(&error),
                    details,
                });
            }
            let Some(operation) = self.operations.get(index) else {
                continue;
            };
            let parsed = OperationResult::from_json(operation, entry)?;
            if let (
                Operation::Insert {
                    uuid_name: Some(name),
                    ..
                },
                OperationResult::Insert(uuid),
            ) = (operation, &parsed)
            {
                outcome.named.insert(name.clone(), *uuid);
            }
            outcome.results.push(parsed);
        }
        if outcome.results.len() < self.operations.len() {
            return Err(Error::decode(format!(
                "transact returned {} results for {} operations",
                outcome.results.len(),
                self.operations.len()
            )));
        }
        Ok(outcome)
    }
}

/// The result of one successful operation.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationResult {
    /// `insert`: the new row's UUID.
    Insert(Uuid),
    /// `select`: the rows found.
    Select(Vec<Row>),
    /// `update`, `mutate`, `delete`: how many rows matched.
    Count(u64),
    /// Operations that return nothing.
    Empty,
}

impl OperationResult {
    fn from_json(operation: &Operation, json: &Json) -> Result<OperationResult> {
        let missing = |what: &str| Error::decode(format!("{what} missing in result {json}"));
        match operation {
            Operation::Insert { .. } => {
                let uuid = json.get("uuid").ok_or_else(|| missing("uuid"))?;
                Atom::from_json(uuid)?
                    .as_uuid()
                    .map(OperationResult::Insert)
                    .ok_or_else(|| missing("uuid"))
            }
            Operation::Select { .. } => json
                .get("rows")
                .and_then(Json::as_array)
                .ok_or_else(|| missing("rows"))?
                .iter()
                .map(Row::from_json)
                .collect::<Result<_>>()
                .map(OperationResult::Select),
            Operation::Update { .. } | Operation::Mutate { .. } | Operation::Delete { .. } => json
                .get("count")
                .and_then(Json::as_u64)
                .map(OperationResult::Count)
                .ok_or_else(|| missing("count")),
            _ => Ok(OperationResult::Empty),
        }
    }
}

/// Everything a committed transaction returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransactionOutcome {
    pub results: Vec<OperationResult>,
    named: HashMap<String, Uuid>,
}

impl TransactionOutcome {
    /// The real UUID of the row inserted under `name` (or the atom returned
    /// by [`Transaction::insert`]).
    pub fn uuid_of(&self, name: &Atom) -> Option<Uuid> {
        match name {
            Atom::NamedUuid(name) => self.named.get(name).copied(),
            Atom::Uuid(uuid) => Some(*uuid),
            _ => None,
        }
    }

    /// The rows of the `select` at `index`.
    pub fn rows(&self, index: usize) -> Option<&[Row]> {
        match self.results.get(index)? {
            OperationResult::Select(rows) => Some(rows),
            _ => None,
        }
    }

    /// The count of the `update`/`mutate`/`delete` at `index`.
    pub fn count(&self, index: usize) -> Option<u64> {
        match self.results.get(index)? {
            OperationResult::Count(n) => Some(*n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_operation() {
        let mut txn = Transaction::new("DB");
        let row = txn.insert("T", Row::new().with("name", "a"));
        txn.select_columns("T", vec![Condition::eq("name", "a")], &["name"]);
        txn.update(
            "T",
            vec![Condition::ne("name", "b")],
            Row::new().with("n", 1i64),
        );
        txn.mutate(
            "T",
            vec![Condition::includes("s", Value::set([1i64]))],
            vec![
                Mutation::new("n", Mutator::Add, 2i64),
                Mutation::insert("refs", Value::from(row.clone())),
            ],
        );
        txn.delete("T", vec![Condition::excludes("s", 3i64)]);
        txn.wait(
            "T",
            vec![],
            &["name"],
            WaitUntil::NotEqual,
            vec![],
            Some(Duration::from_millis(5)),
        );
        txn.commit(false);
        txn.abort();
        txn.comment("hi");
        txn.assert_lock("l");
        let params = txn.to_params();
        assert_eq!(params[0], json!("DB"));
        assert_eq!(
            params[1],
            json!({"op": "insert", "table": "T", "row": {"name": "a"}, "uuid-name": "row0"})
        );
        assert_eq!(params[2]["columns"], json!(["name"]));
        assert_eq!(params[3]["where"], json!([["name", "!=", "b"]]));
        assert_eq!(
            params[4]["mutations"],
            json!([["n", "+=", 2], ["refs", "insert", ["named-uuid", "row0"]]])
        );
        assert_eq!(params[5]["where"], json!([["s", "excludes", 3]]));
        assert_eq!(params[6]["until"], json!("!="));
        assert_eq!(params[6]["timeout"], json!(5));
        assert_eq!(params[7], json!({"op": "commit", "durable": false}));
        assert_eq!(params[8], json!({"op": "abort"}));
        assert_eq!(params[9], json!({"op": "comment", "comment": "hi"}));
        assert_eq!(params[10], json!({"op": "assert", "lock": "l"}));
    }

    #[test]
    fn unlink_removes_a_reference_wherever_it_is() {
        let mut txn = Transaction::new("DB");
        let u = Uuid::from_u128(1);
        txn.unlink("Bridge", "ports", u);
        let op = &txn.to_params()[1];
        assert_eq!(
            op["where"],
            json!([["ports", "includes", ["uuid", u.to_string()]]])
        );
        assert_eq!(
            op["mutations"],
            json!([["ports", "delete", ["uuid", u.to_string()]]])
        );
    }

    #[test]
    fn decodes_results_and_named_uuids() {
        let mut txn = Transaction::new("DB");
        let row = txn.insert("T", Row::new());
        txn.select("T", vec![]);
        txn.delete("T", vec![]);
        txn.comment("c");
        let u = Uuid::from_u128(42);
        let outcome = txn
            .parse_reply(&json!([
                {"uuid": ["uuid", u.to_string()]},
                {"rows": [{"name": "x"}]},
                {"count": 3},
                {}
            ]))
            .unwrap();
        assert_eq!(outcome.uuid_of(&row), Some(u));
        assert_eq!(outcome.rows(1).unwrap()[0].get_str("name"), Some("x"));
        assert_eq!(outcome.count(2), Some(3));
    }

    #[test]
    fn operation_and_commit_errors_are_typed_with_their_index() {
        let mut txn = Transaction::new("DB");
        txn.comment("a");
        txn.wait("T", vec![], &[], WaitUntil::Equal, vec![], None);
        let err = txn
            .parse_reply(&json!([{}, {"error": "timed out"}]))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Transaction {
                operation: Some(1),
                kind: OperationErrorKind::TimedOut,
                ..
            }
        ));
        let err = txn
            .parse_reply(&json!([{}, {}, {"error": "constraint violation", "details": "dup"}]))
            .unwrap_err();
        assert!(matches!(
            &err,
            Error::Transaction { operation: None, kind: OperationErrorKind::ConstraintViolation, details: Some(d), .. } if d == "dup"
        ));
        assert!(err.to_string().contains("commit"));
        assert!(!err.is_timed_out_at(1));
        let timed_out = txn
            .parse_reply(&json!([{}, {"error": "timed out"}]))
            .unwrap_err();
        assert!(timed_out.is_timed_out_at(1) && !timed_out.is_timed_out_at(0));
    }
}
