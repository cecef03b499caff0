//! What a flow does to a packet: OpenFlow 1.3 actions and the Nicira
//! extensions OVS adds (resubmit, load, move, output to a register,
//! [`learn`](crate::learn)).

use std::fmt;
use std::net::Ipv4Addr;

use crate::error::{FlowsError, Result};
use crate::field::Field;
use crate::learn::Learn;
use crate::mac::Mac;
use crate::matches::VLAN_PRESENT;
use crate::text;
use crate::wire;

/// OpenFlow's reserved ports.
pub const OFPP_IN_PORT: u32 = 0xffff_fff8;
pub const OFPP_LOCAL: u32 = 0xffff_fffe;
/// Nicira's experimenter id and the action type of its extensions.
pub(crate) const NX_VENDOR: u32 = 0x0000_2320;
const OFPAT_EXPERIMENTER: u16 = 0xffff;

/// Where `output` sends a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// An OpenFlow port number.
    Number(u32),
    /// The port the packet came in on (output to its own number drops it).
    InPort,
    /// The bridge's own internal port.
    Local,
}

impl Port {
    fn number(self) -> u32 {
        match self {
            Port::Number(n) => n,
            Port::InPort => OFPP_IN_PORT,
            Port::Local => OFPP_LOCAL,
        }
    }
}

/// Bits `start..=end` of a field, as `load` and `move` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bits {
    pub field: Field,
    pub start: u16,
    pub end: u16,
}

impl Bits {
    /// The whole field.
    pub fn all(field: Field) -> Bits {
        Bits {
            field,
            start: 0,
            end: field.bits() - 1,
        }
    }

    /// Bits `start..=end` (`NXM_NX_REG1[0..15]`).
    pub fn range(field: Field, start: u16, end: u16) -> Bits {
        Bits { field, start, end }
    }

    /// How many bits.
    pub fn width(self) -> u16 {
        self.end - self.start + 1
    }

    pub(crate) fn check(self) -> Result<()> {
        let width = self.field.bits();
        if let Field::Reg(n) = self.field
            && n > 15
        {
            return Err(FlowsError::NoSuchRegister(n));
        }
        if self.start > self.end || self.end >= width {
            return Err(FlowsError::BitsOutOfRange {
                field: self.field,
                start: self.start,
                end: self.end,
                width,
            });
        }
        Ok(())
    }

    /// `ofs_nbits` holds at most 64 bits (six bits of width).
    fn check_ofs_nbits(self) -> Result<()> {
        self.check()?;
        match self.width() {
            0..=64 => Ok(()),
            bits => Err(FlowsError::TooManyBits {
                field: self.field,
                bits,
            }),
        }
    }

    /// `ofs_nbits`: the offset in the top ten bits, bits - 1 in the rest.
    fn ofs_nbits(self) -> u16 {
        (self.start << 6) | (self.width() - 1)
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.field.nxm_name();
        if *self == Bits::all(self.field) {
            write!(f, "{name}[]")
        } else if self.start == self.end {
            write!(f, "{name}[{}]", self.start)
        } else {
            write!(f, "{name}[{}..{}]", self.start, self.end)
        }
    }
}

/// One action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Output(Port),
    /// Output to the port number held in a register.
    OutputReg(Bits),
    /// A whole field set to a value (its bytes, the field's width).
    SetField {
        field: Field,
        value: Vec<u8>,
    },
    /// A VLAN tag of `ethertype` (0x8100) pushed, to be filled by a
    /// `set_field` of `vlan_vid`.
    PushVlan(u16),
    PopVlan,
    /// The packet looked up again in `table` (unlike `goto_table`, any).
    Resubmit {
        table: u8,
    },
    /// `value` loaded into some bits of a field.
    Load {
        dst: Bits,
        value: u64,
    },
    /// Bits copied from one field to another of the same width.
    Move {
        src: Bits,
        dst: Bits,
    },
    /// A flow added (or refreshed) from the packet's fields.
    Learn(Learn),
}

impl Action {
    pub fn set_eth_src(mac: Mac) -> Action {
        Action::set(Field::EthSrc, mac.octets().to_vec())
    }

    pub fn set_eth_dst(mac: Mac) -> Action {
        Action::set(Field::EthDst, mac.octets().to_vec())
    }

    pub fn set_arp_op(op: u16) -> Action {
        Action::set(Field::ArpOp, op.to_be_bytes().to_vec())
    }

    pub fn set_arp_spa(address: Ipv4Addr) -> Action {
        Action::set(Field::ArpSpa, address.octets().to_vec())
    }

    pub fn set_arp_sha(mac: Mac) -> Action {
        Action::set(Field::ArpSha, mac.octets().to_vec())
    }

    /// The tunnel key of the packet's next encapsulation (a VNI).
    pub fn set_tun_id(id: u64) -> Action {
        Action::set(Field::TunId, id.to_be_bytes().to_vec())
    }

    /// The remote end of the packet's next encapsulation.
    pub fn set_tun_ipv4_dst(address: Ipv4Addr) -> Action {
        Action::set(Field::TunIpv4Dst, address.octets().to_vec())
    }

    /// The VLAN id of a tag pushed before.
    pub fn set_vlan_vid(vid: u16) -> Action {
        Action::set(
            Field::VlanVid,
            (VLAN_PRESENT | (vid & 0x0fff)).to_be_bytes().to_vec(),
        )
    }

    fn set(field: Field, value: Vec<u8>) -> Action {
        Action::SetField { field, value }
    }

    /// Checks what OVS would refuse: bits outside their field, a value
    /// too wide for its bits, a move between different widths.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Action::OutputReg(bits) => bits.check_ofs_nbits(),
            Action::Load { dst, value } => {
                dst.check_ofs_nbits()?;
                let fits = dst.width() >= 64 || value >> dst.width() == 0;
                fits.then_some(()).ok_or(FlowsError::ValueTooWide {
                    field: dst.field,
                    value,
                    bits: dst.width(),
                })
            }
            Action::Move { src, dst } => {
                src.check()?;
                dst.check()?;
                (src.width() == dst.width())
                    .then_some(())
                    .ok_or(FlowsError::MoveWidthMismatch {
                        src: src.field,
                        src_bits: src.width(),
                        dst: dst.field,
                        dst_bits: dst.width(),
                    })
            }
            Action::Learn(ref learn) => learn.validate(),
            _ => Ok(()),
        }
    }

    /// Appends the action's bytes.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.validate()?;
        match self {
            Action::Output(port) => {
                wire::put_u16(out, 0); // OFPAT_OUTPUT
                wire::put_u16(out, 16);
                wire::put_u32(out, port.number());
                wire::put_u16(out, 0); // max_len: only for the controller
                wire::put_zeros(out, 6);
            }
            Action::SetField { field, value } => encode_set_field(*field, value, out)?,
            Action::PushVlan(ethertype) => {
                wire::put_u16(out, 17); // OFPAT_PUSH_VLAN
                wire::put_u16(out, 8);
                wire::put_u16(out, *ethertype);
                wire::put_zeros(out, 2);
            }
            Action::PopVlan => {
                wire::put_u16(out, 18); // OFPAT_POP_VLAN
                wire::put_u16(out, 8);
                wire::put_zeros(out, 4);
            }
            Action::Resubmit { table } => {
                nicira_header(out, 16, 14); // NXAST_RESUBMIT_TABLE
                wire::put_u16(out, OFPP_IN_PORT as u16);
                wire::put_u8(out, *table);
                wire::put_zeros(out, 3);
            }
            Action::Load { dst, value } => {
                nicira_header(out, 24, 7); // NXAST_REG_LOAD
                wire::put_u16(out, dst.ofs_nbits());
                wire::put_u32(out, dst.field.nxm_header());
                wire::put_u64(out, *value);
            }
            Action::Move { src, dst } => {
                nicira_header(out, 24, 6); // NXAST_REG_MOVE
                wire::put_u16(out, src.width());
                wire::put_u16(out, src.start);
                wire::put_u16(out, dst.start);
                wire::put_u32(out, src.field.nxm_header());
                wire::put_u32(out, dst.field.nxm_header());
            }
            Action::OutputReg(src) => {
                nicira_header(out, 24, 15); // NXAST_OUTPUT_REG
                wire::put_u16(out, src.ofs_nbits());
                wire::put_u32(out, src.field.nxm_header());
                wire::put_u16(out, u16::MAX); // max_len
                wire::put_zeros(out, 6);
            }
            Action::Learn(learn) => learn.encode(out)?,
        }
        Ok(())
    }
}

/// OFPAT_SET_FIELD of a whole field, padded to eight bytes.
fn encode_set_field(field: Field, value: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    wire::put_u16(out, 25); // OFPAT_SET_FIELD
    wire::put_u16(out, 0);
    wire::put_u32(out, field.match_header(false));
    out.extend_from_slice(value);
    wire::pad_to_8(out, start);
    wire::set_len_u16(out, start + 2, start)
}

/// The start of a Nicira extension: `ffff <len> 00002320 <subtype>`.
fn nicira_header(out: &mut Vec<u8>, len: u16, subtype: u16) {
    wire::put_u16(out, OFPAT_EXPERIMENTER);
    wire::put_u16(out, len);
    wire::put_u32(out, NX_VENDOR);
    wire::put_u16(out, subtype);
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Port::Number(n) => write!(f, "output:{n}"),
            Port::InPort => f.write_str("IN_PORT"),
            Port::Local => f.write_str("LOCAL"),
        }
    }
}

/// The action in `ovs-ofctl` syntax.
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Output(port) => port.fmt(f),
            Action::OutputReg(bits) => write!(f, "output:{bits}"),
            Action::SetField { field, value } => {
                write!(f, "set_field:{}->{field}", text::value(*field, value))
            }
            Action::PushVlan(ethertype) => write!(f, "push_vlan:{ethertype:#x}"),
            Action::PopVlan => f.write_str("pop_vlan"),
            Action::Resubmit { table } => write!(f, "resubmit(,{table})"),
            Action::Load { dst, value } => write!(f, "load:{value:#x}->{dst}"),
            Action::Move { src, dst } => write!(f, "move:{src}->{dst}"),
            Action::Learn(learn) => learn.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(action: &Action) -> Vec<u8> {
        let mut out = Vec::new();
        action.encode(&mut out).expect("valid");
        out
    }

    #[test]
    fn set_field_of_a_nicira_field_is_padded_to_eight() {
        let action = Action::set_tun_ipv4_dst(Ipv4Addr::new(192, 0, 2, 12));
        let expected = [
            0x00, 0x19, 0x00, 0x10, 0x00, 0x01, 0x40, 0x04, 0xc0, 0x00, 0x02, 0x0c, 0, 0, 0, 0,
        ];
        assert_eq!(bytes(&action), expected);
        assert_eq!(action.to_string(), "set_field:192.0.2.12->tun_dst");
    }

    #[test]
    fn resubmit_is_nicira_s_resubmit_table() {
        let expected = [
            0xff, 0xff, 0x00, 0x10, 0x00, 0x00, 0x23, 0x20, 0x00, 0x0e, 0xff, 0xf8, 0x01, 0, 0, 0,
        ];
        assert_eq!(bytes(&Action::Resubmit { table: 1 }), expected);
    }

    #[test]
    fn loads_and_moves_are_checked_against_their_fields() {
        let reg1 = Bits::range(Field::Reg(1), 0, 15);
        assert_eq!(
            Action::Load {
                dst: reg1,
                value: 0x1_0000
            }
            .validate(),
            Err(FlowsError::ValueTooWide {
                field: Field::Reg(1),
                value: 0x1_0000,
                bits: 16
            })
        );
        let past = Bits::range(Field::Reg(1), 16, 32);
        assert!(matches!(
            Action::OutputReg(past).validate(),
            Err(FlowsError::BitsOutOfRange { .. })
        ));
        let wide = Action::Load {
            dst: Bits::all(Field::Ipv6Src),
            value: 1,
        };
        assert_eq!(
            wide.validate(),
            Err(FlowsError::TooManyBits {
                field: Field::Ipv6Src,
                bits: 128
            })
        );
        let mismatch = Action::Move {
            src: Bits::all(Field::EthSrc),
            dst: Bits::all(Field::Reg(0)),
        };
        assert!(matches!(
            mismatch.validate(),
            Err(FlowsError::MoveWidthMismatch { .. })
        ));
        assert_eq!(reg1.to_string(), "NXM_NX_REG1[0..15]");
        assert_eq!(
            Bits::range(Field::Reg(2), 3, 3).to_string(),
            "NXM_NX_REG2[3]"
        );
    }
}
