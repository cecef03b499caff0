//! Meters: rate limits a flow sends its packets through (the flow's
//! `meter:N` instruction, [`crate::Flow::meter`]), added and removed with
//! OpenFlow 1.3's METER_MOD. One drop band: what passes the rate (in
//! kbit/s) and its burst (in kbit) is dropped, which is what a policer
//! does; the userspace datapath implements it exactly.
//!
//! ```
//! use flows::meter::{Meter, MeterCommand, MeterMod};
//!
//! let meter = Meter { id: 7, kbps: 20_000, burst_kb: 5_000 };
//! assert_eq!(meter.to_string(), "meter=7,kbps,burst,bands=type=drop,rate=20000,burst_size=5000");
//! let message = MeterMod { command: MeterCommand::Add, meter }.encode(1)?;
//! assert_eq!(&message[..2], &[0x04, 29]); // OpenFlow 1.3, METER_MOD
//! # Ok::<(), flows::FlowsError>(())
//! ```

use std::fmt;

use crate::error::Result;
use crate::wire;

/// OFPT_METER_MOD.
const OFPT_METER_MOD: u8 = 29;
/// Rates in kbit/s.
const OFPMF_KBPS: u16 = 1 << 0;
/// The band's burst size counts.
const OFPMF_BURST: u16 = 1 << 2;
/// OFPMBT_DROP.
const DROP_BAND: u16 = 1;
/// The switch's error type for a refused METER_MOD, and its codes for a
/// meter that exists already (on an add) and one that does not (on a
/// modify or delete).
pub const OFPET_METER_MOD_FAILED: u16 = 12;
pub const OFPMMFC_METER_EXISTS: u16 = 1;
pub const OFPMMFC_UNKNOWN_METER: u16 = 7;

/// A meter with one drop band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Meter {
    /// 1 and up (the highest ids are OpenFlow's virtual meters).
    pub id: u32,
    /// The rate packets may pass at, in kbit/s.
    pub kbps: u32,
    /// How far past the rate a burst may go, in kbit.
    pub burst_kb: u32,
}

/// METER_MOD's command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeterCommand {
    Add = 0,
    Modify = 1,
    Delete = 2,
}

/// One METER_MOD message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MeterMod {
    pub command: MeterCommand,
    pub meter: Meter,
}

impl MeterMod {
    /// The message, with transaction id `xid`; a delete carries no band.
    pub fn encode(&self, xid: u32) -> Result<Vec<u8>> {
        let mut out = wire::start_message(OFPT_METER_MOD, xid);
        wire::put_u16(&mut out, self.command as u16);
        let delete = self.command == MeterCommand::Delete;
        wire::put_u16(&mut out, if delete { 0 } else { OFPMF_KBPS | OFPMF_BURST });
        wire::put_u32(&mut out, self.meter.id);
        if !delete {
            wire::put_u16(&mut out, DROP_BAND);
            wire::put_u16(&mut out, 16);
            wire::put_u32(&mut out, self.meter.kbps);
            wire::put_u32(&mut out, self.meter.burst_kb);
            wire::put_zeros(&mut out, 4);
        }
        wire::finish(out)
    }
}

/// The meter in `ovs-ofctl add-meter` syntax (`-O OpenFlow13`).
impl fmt::Display for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "meter={},kbps,burst,bands=type=drop,rate={},burst_size={}",
            self.id, self.kbps, self.burst_kb
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_add_is_the_reference_message_and_a_delete_has_no_band() {
        let meter = Meter {
            id: 3,
            kbps: 1000,
            burst_kb: 250,
        };
        let add = MeterMod {
            command: MeterCommand::Add,
            meter,
        };
        let hex: String = add
            .encode(1)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let expected = [
            "041d0020", "00000001", "0000", "0005", "00000003", "0001", "0010", "000003e8",
            "000000fa", "00000000",
        ]
        .concat();
        assert_eq!(hex, expected);
        let delete = MeterMod {
            command: MeterCommand::Delete,
            meter,
        };
        assert_eq!(delete.encode(1).unwrap().len(), 16);
    }
}
