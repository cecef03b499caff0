//! A flow and the FLOW_MOD messages that add, change and delete flows.

use std::fmt;

use crate::action::Action;
use crate::error::{FlowsError, Result};
use crate::matches::Match;
use crate::wire;

/// OFPT_FLOW_MOD.
const OFPT_FLOW_MOD: u8 = 14;
/// "Any" for buffer, port and group filters.
const ANY: u32 = 0xffff_ffff;
/// All tables, for deletes.
pub const ALL_TABLES: u8 = 0xff;

/// One flow: where it sits, what it matches, what it does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Flow {
    pub table: u8,
    pub priority: u16,
    pub cookie: u64,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub matches: Match,
    /// Applied in order; none (and no `goto_table`) drops the packet.
    pub actions: Vec<Action>,
    /// Then the packet goes on to this later table.
    pub goto_table: Option<u8>,
    /// First of all, the packet goes through this meter
    /// ([`crate::meter`]), which may drop it.
    pub meter: Option<u32>,
}

impl Flow {
    /// A flow in `table` at `priority` that matches everything and drops.
    pub fn new(table: u8, priority: u16) -> Flow {
        Flow {
            table,
            priority,
            ..Flow::default()
        }
    }

    pub fn cookie(mut self, cookie: u64) -> Flow {
        self.cookie = cookie;
        self
    }

    pub fn idle_timeout(mut self, seconds: u16) -> Flow {
        self.idle_timeout = seconds;
        self
    }

    pub fn hard_timeout(mut self, seconds: u16) -> Flow {
        self.hard_timeout = seconds;
        self
    }

    pub fn matching(mut self, matches: Match) -> Flow {
        self.matches = matches;
        self
    }

    pub fn action(mut self, action: Action) -> Flow {
        self.actions.push(action);
        self
    }

    pub fn goto(mut self, table: u8) -> Flow {
        self.goto_table = Some(table);
        self
    }

    pub fn meter(mut self, meter: u32) -> Flow {
        self.meter = Some(meter);
        self
    }

    /// Checks the match, every action and that `goto_table` goes forward.
    pub fn validate(&self) -> Result<()> {
        self.matches.validate()?;
        for action in &self.actions {
            action.validate()?;
        }
        match self.goto_table {
            Some(to) if to <= self.table => Err(FlowsError::BackwardGoto {
                from: self.table,
                to,
            }),
            _ => Ok(()),
        }
    }

    /// METER, APPLY_ACTIONS (when there are actions), then GOTO_TABLE:
    /// the order OpenFlow 1.3 runs them in.
    fn encode_instructions(&self, out: &mut Vec<u8>) -> Result<()> {
        if let Some(meter) = self.meter {
            wire::put_u16(out, 6); // OFPIT_METER
            wire::put_u16(out, 8);
            wire::put_u32(out, meter);
        }
        if !self.actions.is_empty() {
            let start = out.len();
            wire::put_u16(out, 4); // OFPIT_APPLY_ACTIONS
            wire::put_u16(out, 0);
            wire::put_zeros(out, 4);
            for action in &self.actions {
                action.encode(out)?;
            }
            wire::set_len_u16(out, start + 2, start)?;
        }
        if let Some(table) = self.goto_table {
            wire::put_u16(out, 1); // OFPIT_GOTO_TABLE
            wire::put_u16(out, 8);
            wire::put_u8(out, table);
            wire::put_zeros(out, 3);
        }
        Ok(())
    }

    /// The FLOW_MOD that adds this flow (replacing one with the same
    /// table, priority and match).
    pub fn add(&self) -> FlowMod {
        FlowMod::new(Command::Add, self.clone())
    }

    /// The actions in `ovs-ofctl` syntax: `drop` for none.
    fn format_actions(&self) -> String {
        let mut actions: Vec<String> = self.meter.iter().map(|m| format!("meter:{m}")).collect();
        actions.extend(self.actions.iter().map(Action::to_string));
        actions.extend(self.goto_table.map(|t| format!("goto_table:{t}")));
        match actions.is_empty() {
            true => "drop".to_string(),
            false => actions.join(","),
        }
    }
}

/// The flow as `ovs-ofctl dump-flows --no-stats` prints it, which
/// `ovs-ofctl add-flow` reads back.
impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cookie != 0 {
            write!(f, "cookie={:#x}, ", self.cookie)?;
        }
        write!(f, "table={}, ", self.table)?;
        if self.idle_timeout != 0 {
            write!(f, "idle_timeout={}, ", self.idle_timeout)?;
        }
        if self.hard_timeout != 0 {
            write!(f, "hard_timeout={}, ", self.hard_timeout)?;
        }
        write!(f, "priority={}", self.priority)?;
        let matches = self.matches.to_string();
        if !matches.is_empty() {
            write!(f, ",{matches}")?;
        }
        write!(f, " actions={}", self.format_actions())
    }
}

/// FLOW_MOD's command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Add = 0,
    /// The actions of every flow the match covers.
    Modify = 1,
    /// The actions of the flow with exactly this match and priority.
    ModifyStrict = 2,
    /// Every flow the match covers (and the cookie mask selects).
    Delete = 3,
    /// The flow with exactly this match and priority.
    DeleteStrict = 4,
}

/// One FLOW_MOD message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowMod {
    pub command: Command,
    pub flow: Flow,
    /// Which cookie bits must equal the flow's for Modify and Delete.
    pub cookie_mask: u64,
}

impl FlowMod {
    pub fn new(command: Command, flow: Flow) -> FlowMod {
        FlowMod {
            command,
            flow,
            cookie_mask: 0,
        }
    }

    /// Deletes every flow, in every table, whose cookie has `cookie` in
    /// the bits of `mask`: a round of a resync, all flows of a network.
    pub fn delete_by_cookie(cookie: u64, mask: u64) -> FlowMod {
        FlowMod {
            command: Command::Delete,
            flow: Flow::new(ALL_TABLES, 0).cookie(cookie),
            cookie_mask: mask,
        }
    }

    /// The message, with transaction id `xid`.
    pub fn encode(&self, xid: u32) -> Result<Vec<u8>> {
        let flow = &self.flow;
        if self.command != Command::Delete {
            flow.validate()?;
        }
        let mut out = wire::start_message(OFPT_FLOW_MOD, xid);
        wire::put_u64(&mut out, flow.cookie);
        wire::put_u64(&mut out, self.cookie_mask);
        wire::put_u8(&mut out, flow.table);
        wire::put_u8(&mut out, self.command as u8);
        wire::put_u16(&mut out, flow.idle_timeout);
        wire::put_u16(&mut out, flow.hard_timeout);
        wire::put_u16(&mut out, flow.priority);
        for filter in [ANY, ANY, ANY] {
            // buffer_id, out_port, out_group: none, and no port filter.
            wire::put_u32(&mut out, filter);
        }
        wire::put_u16(&mut out, 0); // flags
        wire::put_zeros(&mut out, 2);
        flow.matches.encode(&mut out)?;
        if matches!(
            self.command,
            Command::Add | Command::Modify | Command::ModifyStrict
        ) {
            flow.encode_instructions(&mut out)?;
        }
        wire::finish(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_masked_delete_of_all_tables_is_the_reference_message() {
        let message = FlowMod::delete_by_cookie(0x0001_0000_0000_0000, 0xffff_0000_0000_0000)
            .encode(1)
            .expect("valid");
        let expected = [
            "040e0038",
            "00000001",
            "0001000000000000",
            "ffff000000000000",
            "ff03",
            "0000",
            "0000",
            "0000",
            "ffffffff",
            "ffffffff",
            "ffffffff",
            "0000",
            "0000",
            "00010004",
            "00000000",
        ]
        .concat();
        let hex: String = message.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn goto_only_goes_forward() {
        let flow = Flow::new(3, 1).goto(2);
        assert_eq!(
            flow.add().encode(1),
            Err(FlowsError::BackwardGoto { from: 3, to: 2 })
        );
    }

    #[test]
    fn a_flow_without_actions_drops() {
        assert_eq!(
            Flow::new(0, 0).to_string(),
            "table=0, priority=0 actions=drop"
        );
    }
}
