//! Nicira's `learn` action: each packet that runs it adds (or refreshes)
//! a flow built from the packet's own fields. The classic use is MAC
//! learning from a tunnel: "frames to this source MAC go back to the
//! tunnel endpoint this one came from", without a controller round trip.
//!
//! A [`Learn`] says where the new flow goes (table, priority, timeouts,
//! cookie) and, spec by spec, what it matches and does:
//!
//! ```
//! use flows::action::Bits;
//! use flows::learn::{Learn, LearnSpec};
//! use flows::{Action, Field};
//!
//! // The MAC learning flow of a VXLAN network: a frame from MAC M that came
//! // in from tunnel endpoint T makes "reg0 = this network, eth_dst = M:
//! // send to T with this VNI, out of the tunnel port".
//! let learn = Learn::new(35, 100)
//!     .hard_timeout(300)
//!     .spec(LearnSpec::match_same(Bits::all(Field::Reg(0))))
//!     .spec(LearnSpec::Match { src: Bits::all(Field::EthSrc), dst: Bits::all(Field::EthDst) })
//!     .spec(LearnSpec::Load { src: Bits::all(Field::TunIpv4Src), dst: Bits::all(Field::TunIpv4Dst) })
//!     .spec(LearnSpec::Output(Bits::all(Field::InPort)));
//! assert_eq!(
//!     Action::Learn(learn).to_string(),
//!     "learn(table=35,hard_timeout=300,priority=100,NXM_NX_REG0[],\
//!      NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],\
//!      load:NXM_NX_TUN_IPV4_SRC[]->NXM_NX_TUN_IPV4_DST[],output:NXM_OF_IN_PORT[])"
//! );
//! ```
//!
//! Only specs whose source is a packet field are modelled (no immediate
//! values), and none of the flags (`send_flow_rem`, `delete_learned`) or
//! FIN timeouts: what a learning switch needs, encoded as OVS encodes it.

use std::fmt;

use crate::action::Bits;
use crate::error::{FlowsError, Result};
use crate::wire;

/// NXAST_LEARN.
pub(crate) const NXAST_LEARN: u16 = 16;
/// The fixed part of `nx_action_learn`, before the specs.
pub(crate) const LEARN_FIXED: usize = 32;
/// A spec's header: where its source is, what its destination is.
const SRC_FIELD: u16 = 0;
pub(crate) const DST_MATCH: u16 = 0;
pub(crate) const DST_LOAD: u16 = 1 << 11;
pub(crate) const DST_OUTPUT: u16 = 2 << 11;
pub(crate) const DST_MASK: u16 = 3 << 11;
pub(crate) const SRC_IMMEDIATE: u16 = 1 << 13;
pub(crate) const N_BITS_MASK: u16 = 0x3ff;
/// OVS's default flow priority: `learn` prints no priority for it.
const DEFAULT_PRIORITY: u16 = 0x8000;

/// One part of the learned flow, its value taken from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnSpec {
    /// The learned flow matches `dst` on the value of the packet's `src`.
    Match { src: Bits, dst: Bits },
    /// The learned flow loads the packet's `src` value into `dst`.
    Load { src: Bits, dst: Bits },
    /// The learned flow outputs to the port number in the packet's bits.
    Output(Bits),
}

impl LearnSpec {
    /// Matches a field on the packet's own value of it (`NXM_NX_REG0[]`).
    pub fn match_same(bits: Bits) -> LearnSpec {
        LearnSpec::Match {
            src: bits,
            dst: bits,
        }
    }

    fn source(self) -> Bits {
        match self {
            LearnSpec::Match { src, .. } | LearnSpec::Load { src, .. } => src,
            LearnSpec::Output(src) => src,
        }
    }

    fn destination(self) -> Option<(u16, Bits)> {
        match self {
            LearnSpec::Match { dst, .. } => Some((DST_MATCH, dst)),
            LearnSpec::Load { dst, .. } => Some((DST_LOAD, dst)),
            LearnSpec::Output(_) => None,
        }
    }

    fn validate(self) -> Result<()> {
        let src = self.source();
        src.check()?;
        if let Some((_, dst)) = self.destination() {
            dst.check()?;
            if dst.width() != src.width() {
                return Err(FlowsError::MoveWidthMismatch {
                    src: src.field,
                    src_bits: src.width(),
                    dst: dst.field,
                    dst_bits: dst.width(),
                });
            }
        }
        Ok(())
    }

    fn encode(self, out: &mut Vec<u8>) {
        let src = self.source();
        let (dst_type, dst) = self.destination().unzip();
        let dst_type = dst_type.unwrap_or(DST_OUTPUT);
        wire::put_u16(out, src.width() | dst_type | SRC_FIELD);
        wire::put_u32(out, src.field.nxm_header());
        wire::put_u16(out, src.start);
        if let Some(dst) = dst {
            wire::put_u32(out, dst.field.nxm_header());
            wire::put_u16(out, dst.start);
        }
    }
}

impl fmt::Display for LearnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LearnSpec::Match { src, dst } if src == dst => write!(f, "{dst}"),
            LearnSpec::Match { src, dst } => write!(f, "{dst}={src}"),
            LearnSpec::Load { src, dst } => write!(f, "load:{src}->{dst}"),
            LearnSpec::Output(src) => write!(f, "output:{src}"),
        }
    }
}

/// The `learn` action: the flow it adds and how long that flow lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Learn {
    pub table: u8,
    pub priority: u16,
    /// Seconds without a packet before the learned flow goes; 0: never.
    pub idle_timeout: u16,
    /// Seconds before the learned flow goes, refreshed by each learning
    /// packet (so it goes that long after its address last sent); 0: never.
    pub hard_timeout: u16,
    pub cookie: u64,
    pub specs: Vec<LearnSpec>,
}

impl Learn {
    /// Learns into `table` at `priority`, permanent until timeouts are set.
    pub fn new(table: u8, priority: u16) -> Learn {
        Learn {
            table,
            priority,
            idle_timeout: 0,
            hard_timeout: 0,
            cookie: 0,
            specs: Vec::new(),
        }
    }

    pub fn idle_timeout(mut self, seconds: u16) -> Learn {
        self.idle_timeout = seconds;
        self
    }

    pub fn hard_timeout(mut self, seconds: u16) -> Learn {
        self.hard_timeout = seconds;
        self
    }

    /// The learned flows' cookie.
    pub fn cookie(mut self, cookie: u64) -> Learn {
        self.cookie = cookie;
        self
    }

    pub fn spec(mut self, spec: LearnSpec) -> Learn {
        self.specs.push(spec);
        self
    }

    /// Checks what OVS would refuse: table 255, bits outside their field,
    /// a spec whose two sides differ in width.
    pub fn validate(&self) -> Result<()> {
        if self.table == u8::MAX {
            return Err(FlowsError::BadLearnTable);
        }
        self.specs.iter().try_for_each(|spec| spec.validate())
    }

    /// Appends `nx_action_learn` and its specs, padded to eight bytes.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.validate()?;
        let start = out.len();
        wire::put_u16(out, 0xffff); // OFPAT_EXPERIMENTER
        wire::put_u16(out, 0); // the length, set below
        wire::put_u32(out, crate::action::NX_VENDOR);
        wire::put_u16(out, NXAST_LEARN);
        wire::put_u16(out, self.idle_timeout);
        wire::put_u16(out, self.hard_timeout);
        wire::put_u16(out, self.priority);
        wire::put_u64(out, self.cookie);
        wire::put_u16(out, 0); // flags
        wire::put_u8(out, self.table);
        wire::put_zeros(out, 5); // pad, fin_idle_timeout, fin_hard_timeout
        for spec in &self.specs {
            spec.encode(out);
        }
        wire::pad_to_8(out, start);
        wire::set_len_u16(out, start + 2, start)
    }
}

/// In `ovs-ofctl` syntax (`learn(table=35,hard_timeout=300,...)`).
impl fmt::Display for Learn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "learn(table={}", self.table)?;
        if self.idle_timeout != 0 {
            write!(f, ",idle_timeout={}", self.idle_timeout)?;
        }
        if self.hard_timeout != 0 {
            write!(f, ",hard_timeout={}", self.hard_timeout)?;
        }
        if self.priority != DEFAULT_PRIORITY {
            write!(f, ",priority={}", self.priority)?;
        }
        if self.cookie != 0 {
            write!(f, ",cookie={:#x}", self.cookie)?;
        }
        for spec in &self.specs {
            write!(f, ",{spec}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    #[test]
    fn a_spec_of_two_widths_is_refused() {
        let learn = Learn::new(1, 1).spec(LearnSpec::Load {
            src: Bits::all(Field::EthSrc),
            dst: Bits::all(Field::Reg(1)),
        });
        assert!(matches!(
            learn.validate(),
            Err(FlowsError::MoveWidthMismatch { .. })
        ));
        assert_eq!(
            Learn::new(255, 1).validate(),
            Err(FlowsError::BadLearnTable)
        );
    }

    #[test]
    fn the_in_port_is_sixteen_bits_as_nxm_names_it() {
        let mut out = Vec::new();
        Learn::new(3, 10)
            .spec(LearnSpec::Output(Bits::all(Field::InPort)))
            .encode(&mut out)
            .expect("valid");
        // 32 fixed bytes, then 0x1010 (output, 16 bits), NXM_OF_IN_PORT, offset 0.
        assert_eq!(&out[32..40], &[0x10, 0x10, 0, 0, 0, 2, 0, 0]);
        assert_eq!(out.len(), 40);
        assert_eq!(&out[2..4], &[0, 40]);
    }
}
