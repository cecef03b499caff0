//! The `external_ids` of the driver's bridge: where the `-d ovs` backend
//! records its networks ([`crate::ovs::network_record`]), one key each.

use std::time::Duration;

use ovsdb_client::Value;
use ovsdb_client::rows::{Bridge, TypedRow};
use ovsdb_client::transaction::{Condition, Mutation, Transaction, WaitUntil};

use crate::error::{DriverError, Result};
use crate::host::local_switch::LocalSwitch;

impl LocalSwitch {
    /// Whether the bridge exists.
    pub fn bridge_exists(&self) -> bool {
        self.replica()
            .read(|t| t.find_by(Bridge::TABLE, "name", self.bridge()).is_some())
    }

    /// The pairs of the bridge's `external_ids` whose key starts with
    /// `prefix`.
    pub fn bridge_ids(&self, prefix: &str) -> Vec<(String, String)> {
        self.replica().read(|t| {
            let Some((_, row)) = t.find_by(Bridge::TABLE, "name", self.bridge()) else {
                return vec![];
            };
            let pairs = row
                .get("external_ids")
                .and_then(Value::as_map)
                .unwrap_or_default();
            pairs
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?)))
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
    }

    /// Sets (or, with `None`, removes) key `key` of the bridge's
    /// `external_ids`, in one transaction that fails when the bridge is
    /// missing.
    pub async fn set_bridge_id(&self, key: &str, value: Option<&str>) -> Result<()> {
        let mut txn = Transaction::new("Open_vSwitch");
        let this = || vec![Condition::eq("name", self.bridge())];
        txn.wait(
            Bridge::TABLE,
            this(),
            &["name"],
            WaitUntil::NotEqual,
            vec![],
            Some(Duration::ZERO),
        );
        let mut mutations = vec![Mutation::delete("external_ids", Value::set([key]))];
        if let Some(value) = value {
            mutations.push(Mutation::insert("external_ids", Value::map([(key, value)])));
        }
        txn.mutate(Bridge::TABLE, this(), mutations);
        txn.comment(&format!("docker-ovn: bridge {} {key}", self.bridge()));
        match self.client().transact(&txn).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_timed_out_at(0) => Err(DriverError::Setup(format!(
                "bridge {} does not exist",
                self.bridge()
            ))),
            Err(e) => Err(DriverError::ovs(e)),
        }
    }
}
