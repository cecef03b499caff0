//! `docker-ovn flows`: the `-d ovs` bridge's flows that are the driver's
//! (its cookie mark), table by table under their names, in `ovs-ofctl`
//! syntax; foreign flows are not shown.

use std::time::Duration;

use anyhow::Context;
use flows::Flow;

use crate::cli::serve::DatabaseArgs;
use crate::ovs::bridge_flows::BridgeFlows;
use crate::ovs::pipeline::Table;

/// Flags of `docker-ovn flows`.
#[derive(Debug, Clone, clap::Args)]
pub struct FlowsArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,

    /// Only this table (its name, e.g. `spoof_guard`, or number).
    #[arg(long)]
    pub table: Option<String>,
}

const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn flows(args: FlowsArgs) -> anyhow::Result<()> {
    let target = args.db.openflow_target();
    let bridge = BridgeFlows::connect(&target, TIMEOUT)
        .await
        .with_context(|| format!("bridge {}: no OpenFlow connection", args.db.ovs_bridge))?;
    let present = bridge.present().await?;
    let mut out = String::new();
    for table in Table::ALL {
        let wanted = args.table.as_deref();
        if wanted.is_some_and(|w| w != table.name() && w != table.number().to_string()) {
            continue;
        }
        let mut rows: Vec<&Flow> = present
            .iter()
            .filter(|f| f.table == table.number())
            .collect();
        rows.sort_by_key(|f| std::cmp::Reverse(f.priority));
        let count = rows.len();
        out.push_str(&format!(
            "table={} ({}): {count} flows\n",
            table.name(),
            table.number()
        ));
        for flow in rows {
            out.push_str(&format!("  {}\n", named(flow)));
        }
    }
    // A reader that stops early (`| head`) is no error.
    match std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The flow's text with tables named, as `ovs-ofctl --names` prints them.
pub fn named(flow: &Flow) -> String {
    let mut text = flow.to_string();
    for table in Table::ALL {
        let number = table.number();
        text = text
            .replace(
                &format!("table={number},"),
                &format!("table={},", table.name()),
            )
            .replace(
                &format!("goto_table:{number}"),
                &format!("goto_table:{}", table.name()),
            );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_named_where_they_are_and_where_flows_go() {
        let flow = Flow::new(0, 100).goto(10);
        assert_eq!(
            named(&flow),
            "table=classifier, priority=100 actions=goto_table:spoof_guard"
        );
    }
}
