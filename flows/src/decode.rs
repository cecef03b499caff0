//! The decoder: OpenFlow 1.3 bytes back into the crate's model, the
//! inverse of the encoder for everything the crate encodes.
//!
//! # What it is
//! [`decode_flow_mod`] reads a FLOW_MOD (header, body, match,
//! instructions) into a [`FlowMod`]; [`decode_flow_stats`] reads the body
//! of an OFPMP_FLOW multipart reply (the `ofp_flow_stats` entries OVS's
//! `lib/ofp-flow.c` writes) into flows and their counters, which is how a
//! resync learns what a bridge holds. Their parts are public too:
//! [`decode_header`], [`decode_match`], [`decode_actions`],
//! [`decode_instructions`]. For every FLOW_MOD the crate encodes,
//! `decode_flow_mod(&fm.encode(xid)?) == Ok((xid, fm))`.
//!
//! Every input is untrusted: lengths are checked before they are used,
//! zero-length and misaligned TLVs are refused (no loop can stall), and a
//! malformed message is a [`DecodeError`] saying what was being read,
//! never a panic.
//!
//! # What it is not
//! Not a general OpenFlow decoder. What the model cannot hold is an error
//! rather than an approximation: fields, masks, actions and instructions
//! the crate does not encode (`Match` has builders for some masks only,
//! an IPv4 mask must be a prefix), reserved output ports other than
//! `IN_PORT` and `LOCAL`, FLOW_MOD flags, buffer ids and out_port or
//! out_group filters. Nor does it judge policy: a decoded match is not
//! checked for prerequisites (call [`Flow::validate`] for that). Not
//! framing either: it reads one message or one reply body it is given.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::action::{Action, Bits, OFPP_IN_PORT, OFPP_LOCAL, Port};
use crate::field::Field;
use crate::flow::{Command, Flow, FlowMod};
use crate::mac::Mac;
use crate::matches::{Match, VLAN_PRESENT};
use crate::wire::OFP13;

const OFPT_FLOW_MOD: u8 = 14;
/// "Any" for buffer, port and group filters: the only value the model has.
const ANY: u32 = 0xffff_ffff;
/// Port numbers from here up are OpenFlow's reserved ports.
const OFPP_MAX: u32 = 0xffff_ff00;
const NX_VENDOR: u32 = 0x0000_2320;
/// The fixed part of a FLOW_MOD after the header, before the match.
const FLOW_MOD_BODY: usize = 40;
/// The fixed part of an `ofp_flow_stats`, before the match.
const FLOW_STATS_FIXED: usize = 48;
/// An empty OXM match: type, length, padding.
const EMPTY_MATCH: usize = 8;

/// Why bytes did not decode; each variant says what was being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{what}: {need} bytes needed, {have} left")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("{what}: bad length {len}")]
    BadLength { what: &'static str, len: usize },
    #[error("{what}: {extra} bytes past its end")]
    Trailing { what: &'static str, extra: usize },
    #[error("OpenFlow version {0:#04x}, not 1.3 (0x04)")]
    BadVersion(u8),
    #[error("message type {kind}, expected {expected}")]
    BadType { kind: u8, expected: u8 },
    #[error("match type {0}, only OXM (1) is decoded")]
    BadMatchType(u16),
    #[error("unknown match or set_field header {header:#010x}")]
    UnknownField { header: u32 },
    #[error("{0} appears twice in the match")]
    DuplicateField(Field),
    #[error("a mask on {field} that the crate's Match cannot hold")]
    UnsupportedMask { field: Field },
    #[error("{field}={value:02x?}: a value the crate's model cannot hold")]
    UnsupportedValue { field: Field, value: Vec<u8> },
    #[error(
        "unknown action type {kind:#06x}{}",
        .subtype.map(|s| format!(", Nicira subtype {s}")).unwrap_or_default()
    )]
    UnknownAction { kind: u16, subtype: Option<u16> },
    #[error("experimenter action of vendor {0:#010x}, not Nicira's")]
    UnknownExperimenter(u32),
    #[error("unknown NXM header {0:#010x} in a load, move or output")]
    UnknownNxmHeader(u32),
    #[error("{nbits} bits at offset {ofs} do not fit {field}")]
    BadBits { field: Field, ofs: u16, nbits: u16 },
    #[error("{value:#x} does not fit in {bits} bits of {field}")]
    ValueTooWide { field: Field, value: u64, bits: u16 },
    #[error("output to reserved port {0:#010x} (only IN_PORT and LOCAL are modelled)")]
    UnsupportedPort(u32),
    #[error("unknown or unsupported instruction type {0}")]
    UnknownInstruction(u16),
    #[error("instruction type {0} appears twice")]
    DuplicateInstruction(u16),
    #[error("unknown FLOW_MOD command {0}")]
    UnknownCommand(u8),
    #[error("{what}: reserved bytes are not zero")]
    NonZero { what: &'static str },
    #[error("{what}={value:#x}: not in the crate's model")]
    Unsupported { what: &'static str, value: u64 },
}

type Result<T> = std::result::Result<T, DecodeError>;

/// An OpenFlow message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub version: u8,
    /// The message type (OFPT_*).
    pub kind: u8,
    /// The whole message's length, header included.
    pub length: u16,
    pub xid: u32,
}

/// What flow statistics count for one flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FlowCounters {
    pub packets: u64,
    pub bytes: u64,
    /// How long the flow has been in its table.
    pub duration_sec: u32,
}

/// A cursor that refuses to read past the end of its bytes.
struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { rest: bytes, what }
    }

    fn truncated(&self, need: usize) -> DecodeError {
        DecodeError::Truncated {
            what: self.what,
            need,
            have: self.rest.len(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, tail) = self
            .rest
            .split_at_checked(n)
            .ok_or_else(|| self.truncated(n))?;
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let (head, tail) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or_else(|| self.truncated(N))?;
        self.rest = tail;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8> {
        self.array::<1>().map(|[byte]| byte)
    }

    fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_be_bytes)
    }

    /// Reserved bytes: OVS writes zeros and refuses anything else.
    fn zeros(&mut self, n: usize) -> Result<()> {
        let what = self.what;
        zeros(self.take(n)?, what)
    }

    /// The rest, which must be zero padding.
    fn zero_rest(self) -> Result<()> {
        zeros(self.rest, self.what)
    }
}

fn zeros(bytes: &[u8], what: &'static str) -> Result<()> {
    match bytes.iter().all(|&b| b == 0) {
        true => Ok(()),
        false => Err(DecodeError::NonZero { what }),
    }
}

/// Every field but the registers, in `Field`'s order (the tests check
/// that none is missing).
const FIELDS: [Field; 20] = [
    Field::InPort,
    Field::EthSrc,
    Field::EthDst,
    Field::EthType,
    Field::VlanVid,
    Field::Ipv4Src,
    Field::Ipv4Dst,
    Field::Ipv6Src,
    Field::Ipv6Dst,
    Field::IpProto,
    Field::Icmpv6Type,
    Field::NdTarget,
    Field::ArpOp,
    Field::ArpSpa,
    Field::ArpTpa,
    Field::ArpSha,
    Field::ArpTha,
    Field::TunId,
    Field::TunIpv4Src,
    Field::TunIpv4Dst,
];

/// Every field the crate knows, registers 0 to 15 included.
fn every_field() -> impl Iterator<Item = Field> {
    FIELDS.into_iter().chain((0..=15).map(Field::Reg))
}

/// The field of a match or `set_field` header, and whether it is masked.
/// A linear search of 72 headers: matches are short, and deriving the
/// table from `Field` keeps it from drifting from the encoder.
fn match_field(header: u32) -> Option<(Field, bool)> {
    every_field().find_map(|field| {
        [false, true]
            .into_iter()
            .find(|&masked| field.match_header(masked) == header)
            .map(|masked| (field, masked))
    })
}

/// The field of a Nicira header in a load, move or output.
fn nxm_field(header: u32) -> Result<Field> {
    every_field()
        .find(|field| field.nxm_header() == header)
        .ok_or(DecodeError::UnknownNxmHeader(header))
}

/// The header of a message: 8 bytes, a length that covers at least them.
pub fn decode_header(bytes: &[u8]) -> Result<Header> {
    let mut r = Reader::new(bytes, "OpenFlow header");
    let header = Header {
        version: r.u8()?,
        kind: r.u8()?,
        length: r.u16()?,
        xid: r.u32()?,
    };
    match header.length {
        0..8 => Err(DecodeError::BadLength {
            what: "OpenFlow header",
            len: usize::from(header.length),
        }),
        _ => Ok(header),
    }
}

/// An `ofp_match` of type OXM: the match and the bytes it takes, padding
/// included (what comes next starts there).
pub fn decode_match(bytes: &[u8]) -> Result<(Match, usize)> {
    let mut r = Reader::new(bytes, "ofp_match");
    let kind = r.u16()?;
    let len = usize::from(r.u16()?);
    if kind != 1 {
        return Err(DecodeError::BadMatchType(kind));
    }
    if len < 4 {
        return Err(DecodeError::BadLength {
            what: "ofp_match",
            len,
        });
    }
    // OVS takes the padding as part of the match: it must be there.
    let padded = len.div_ceil(8) * 8;
    if bytes.len() < padded {
        return Err(DecodeError::Truncated {
            what: "ofp_match",
            need: padded,
            have: bytes.len(),
        });
    }
    let entries = r.take(len - 4)?;
    Ok((decode_entries(entries)?, padded))
}

/// The OXM/NXM entries of a match: header, value, mask when it has one.
fn decode_entries(bytes: &[u8]) -> Result<Match> {
    let mut r = Reader::new(bytes, "match field");
    let mut seen = Vec::new();
    let mut m = Match::new();
    while !r.rest.is_empty() {
        let header = r.u32()?;
        let len = (header & 0xff) as usize;
        if len == 0 {
            return Err(DecodeError::BadLength {
                what: "match field",
                len,
            });
        }
        let payload = r.take(len)?;
        let (field, masked) = match_field(header).ok_or(DecodeError::UnknownField { header })?;
        // The builders would overwrite a repeated field; OVS refuses it.
        if seen.contains(&field) {
            return Err(DecodeError::DuplicateField(field));
        }
        seen.push(field);
        // The header's length is the field's width (twice when masked),
        // so the split is exact.
        let (value, mask) = payload.split_at(field.bytes().min(payload.len()));
        m = match masked {
            false => exact_field(m, field, value)?,
            true => masked_field(m, field, value, mask)?,
        };
    }
    Ok(m)
}

/// A field's bytes as an array of the width its header promised.
fn array<const N: usize>(bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| DecodeError::BadLength {
        what: "field value",
        len: bytes.len(),
    })
}

fn mac(bytes: &[u8]) -> Result<Mac> {
    array(bytes).map(Mac::new)
}

fn ipv4(bytes: &[u8]) -> Result<Ipv4Addr> {
    array::<4>(bytes).map(Ipv4Addr::from)
}

fn ipv6(bytes: &[u8]) -> Result<Ipv6Addr> {
    array::<16>(bytes).map(Ipv6Addr::from)
}

fn be16(bytes: &[u8]) -> Result<u16> {
    array(bytes).map(u16::from_be_bytes)
}

fn be32(bytes: &[u8]) -> Result<u32> {
    array(bytes).map(u32::from_be_bytes)
}

/// A VLAN id: the model only matches a present tag's id.
fn vid(bytes: &[u8]) -> Result<u16> {
    let tci = be16(bytes)?;
    match tci & !0x0fff == VLAN_PRESENT {
        true => Ok(tci & 0x0fff),
        false => Err(DecodeError::UnsupportedValue {
            field: Field::VlanVid,
            value: bytes.to_vec(),
        }),
    }
}

/// An unmasked field, through the builder the crate has for it.
fn exact_field(m: Match, field: Field, value: &[u8]) -> Result<Match> {
    Ok(match field {
        Field::InPort => m.in_port(be32(value)?),
        Field::EthSrc => m.eth_src(mac(value)?),
        Field::EthDst => m.eth_dst(mac(value)?),
        Field::EthType => m.eth_type(be16(value)?),
        Field::VlanVid => m.vlan(vid(value)?),
        Field::Ipv4Src => m.ipv4_src(ipv4(value)?),
        Field::Ipv4Dst => m.ipv4_dst(ipv4(value)?),
        Field::Ipv6Src => m.ipv6_src(ipv6(value)?),
        Field::Ipv6Dst => m.ipv6_dst(ipv6(value)?),
        Field::IpProto => m.ip_proto(array::<1>(value)?[0]),
        Field::Icmpv6Type => m.icmpv6_type(array::<1>(value)?[0]),
        Field::NdTarget => m.nd_target(ipv6(value)?),
        Field::ArpOp => m.arp_op(be16(value)?),
        Field::ArpSpa => m.arp_spa(ipv4(value)?),
        Field::ArpTpa => m.arp_tpa(ipv4(value)?),
        Field::ArpSha => m.arp_sha(mac(value)?),
        Field::ArpTha => m.arp_tha(mac(value)?),
        Field::TunId => m.tun_id(u64::from_be_bytes(array(value)?)),
        Field::TunIpv4Src => m.tun_ipv4_src(ipv4(value)?),
        Field::TunIpv4Dst => m.tun_ipv4_dst(ipv4(value)?),
        Field::Reg(n) => m.reg(n, be32(value)?),
    })
}

/// A masked field: only where the crate has a masked builder.
fn masked_field(m: Match, field: Field, value: &[u8], mask: &[u8]) -> Result<Match> {
    Ok(match field {
        Field::EthDst => m.eth_dst_masked(mac(value)?, mac(mask)?),
        Field::Ipv4Src => m.ipv4_src_net(ipv4(value)?, prefix(field, mask)?),
        Field::Ipv4Dst => m.ipv4_dst_net(ipv4(value)?, prefix(field, mask)?),
        Field::Ipv6Src => m.ipv6_src_net(ipv6(value)?, prefix(field, mask)?),
        Field::Reg(n) => m.reg_masked(n, be32(value)?, be32(mask)?),
        _ => return Err(DecodeError::UnsupportedMask { field }),
    })
}

/// The prefix length of an address mask; the builders take prefixes
/// only, so a mask with a hole in it cannot be held.
fn prefix(field: Field, mask: &[u8]) -> Result<u8> {
    let unsupported = DecodeError::UnsupportedMask { field };
    let bits = mask.len() * 8;
    if bits > 128 {
        return Err(unsupported);
    }
    let n = mask.iter().fold(0u128, |n, &b| (n << 8) | u128::from(b));
    let ones = n.count_ones();
    let contiguous = u128::MAX.checked_shl(128 - ones).unwrap_or(0) >> (128 - bits);
    match n == contiguous {
        true => u8::try_from(ones).map_err(|_| unsupported),
        false => Err(unsupported),
    }
}

/// Splits off one action or instruction: `type, len` then the rest, `len`
/// a multiple of 8 of at least 8, as OpenFlow aligns both. Returns the
/// type, the whole element and what follows it.
fn split_element<'a>(bytes: &'a [u8], what: &'static str) -> Result<(u16, &'a [u8], &'a [u8])> {
    let mut r = Reader::new(bytes, what);
    let kind = r.u16()?;
    let len = usize::from(r.u16()?);
    if len < 8 || len % 8 != 0 {
        return Err(DecodeError::BadLength { what, len });
    }
    let (element, rest) = bytes.split_at_checked(len).ok_or(DecodeError::Truncated {
        what,
        need: len,
        have: bytes.len(),
    })?;
    Ok((kind, element, rest))
}

/// A list of actions, as in APPLY_ACTIONS.
pub fn decode_actions(bytes: &[u8]) -> Result<Vec<Action>> {
    let mut actions = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (kind, action, next) = split_element(rest, "action")?;
        actions.push(decode_action(kind, action)?);
        rest = next;
    }
    Ok(actions)
}

/// One action, `bytes` being the whole of it (header included).
fn decode_action(kind: u16, bytes: &[u8]) -> Result<Action> {
    match kind {
        0 => output(bytes),
        17 => {
            let mut r = fixed(bytes, 8, "push_vlan")?;
            let ethertype = r.u16()?;
            r.zeros(2)?;
            Ok(Action::PushVlan(ethertype))
        }
        18 => {
            fixed(bytes, 8, "pop_vlan")?.zeros(4)?;
            Ok(Action::PopVlan)
        }
        25 => set_field(bytes),
        0xffff => nicira(bytes),
        _ => Err(DecodeError::UnknownAction {
            kind,
            subtype: None,
        }),
    }
}

/// A reader past the 4-byte header of a fixed-size action.
fn fixed<'a>(bytes: &'a [u8], len: usize, what: &'static str) -> Result<Reader<'a>> {
    if bytes.len() != len {
        return Err(DecodeError::BadLength {
            what,
            len: bytes.len(),
        });
    }
    let mut r = Reader::new(bytes, what);
    r.take(4)?;
    Ok(r)
}

fn port(number: u32) -> Result<Port> {
    match number {
        OFPP_IN_PORT => Ok(Port::InPort),
        OFPP_LOCAL => Ok(Port::Local),
        n if n < OFPP_MAX => Ok(Port::Number(n)),
        n => Err(DecodeError::UnsupportedPort(n)),
    }
}

/// OFPAT_OUTPUT; `max_len` only matters for output to the controller,
/// which the model has not, so it is read and ignored.
fn output(bytes: &[u8]) -> Result<Action> {
    let mut r = fixed(bytes, 16, "output")?;
    let number = r.u32()?;
    r.u16()?;
    r.zeros(6)?;
    Ok(Action::Output(port(number)?))
}

/// OFPAT_SET_FIELD: a whole field (OF1.3 has no masked form), zero padded.
fn set_field(bytes: &[u8]) -> Result<Action> {
    let mut r = Reader::new(bytes, "set_field");
    r.take(4)?;
    let header = r.u32()?;
    let (field, masked) = match_field(header).ok_or(DecodeError::UnknownField { header })?;
    if masked {
        return Err(DecodeError::UnsupportedMask { field });
    }
    let value = r.take(field.bytes())?.to_vec();
    r.zero_rest()?;
    Ok(Action::SetField { field, value })
}

/// Nicira's extensions: `ffff <len> 00002320 <subtype>`.
fn nicira(bytes: &[u8]) -> Result<Action> {
    let mut r = Reader::new(bytes, "Nicira action");
    r.take(4)?;
    let vendor = r.u32()?;
    if vendor != NX_VENDOR {
        return Err(DecodeError::UnknownExperimenter(vendor));
    }
    match r.u16()? {
        14 => resubmit(bytes),
        7 => reg_load(bytes),
        6 => reg_move(bytes),
        15 => output_reg(bytes),
        subtype => Err(DecodeError::UnknownAction {
            kind: 0xffff,
            subtype: Some(subtype),
        }),
    }
}

/// A reader past the 10-byte Nicira header of a fixed-size extension.
fn nicira_fixed<'a>(bytes: &'a [u8], len: usize, what: &'static str) -> Result<Reader<'a>> {
    let mut r = fixed(bytes, len, what)?;
    r.take(6)?;
    Ok(r)
}

/// NXAST_RESUBMIT_TABLE; the model's resubmit keeps the packet's in_port.
fn resubmit(bytes: &[u8]) -> Result<Action> {
    let mut r = nicira_fixed(bytes, 16, "resubmit")?;
    let in_port = r.u16()?;
    let table = r.u8()?;
    r.zeros(3)?;
    if u32::from(in_port) != OFPP_IN_PORT & 0xffff {
        return Err(DecodeError::Unsupported {
            what: "resubmit in_port",
            value: u64::from(in_port),
        });
    }
    Ok(Action::Resubmit { table })
}

/// `nbits` bits of `field` from bit `ofs`, refused where OVS refuses them.
fn bits(field: Field, ofs: u16, nbits: u16) -> Result<Bits> {
    let end = u32::from(ofs) + u32::from(nbits);
    if nbits == 0 || end > u32::from(field.bits()) {
        return Err(DecodeError::BadBits { field, ofs, nbits });
    }
    Ok(Bits::range(field, ofs, ofs + (nbits - 1)))
}

/// `ofs_nbits`: the offset in the top ten bits, the width - 1 below.
fn ofs_nbits(field: Field, value: u16) -> Result<Bits> {
    bits(field, value >> 6, (value & 0x3f) + 1)
}

/// NXAST_REG_LOAD, whose value must fit its bits.
fn reg_load(bytes: &[u8]) -> Result<Action> {
    let mut r = nicira_fixed(bytes, 24, "reg_load")?;
    let packed = r.u16()?;
    let dst = ofs_nbits(nxm_field(r.u32()?)?, packed)?;
    let value = r.u64()?;
    let width = dst.width();
    if width < 64 && value >> width != 0 {
        return Err(DecodeError::ValueTooWide {
            field: dst.field,
            value,
            bits: width,
        });
    }
    Ok(Action::Load { dst, value })
}

/// NXAST_REG_MOVE: one width, two offsets, two headers, zero padding.
fn reg_move(bytes: &[u8]) -> Result<Action> {
    let mut r = Reader::new(bytes, "reg_move");
    r.take(10)?;
    let nbits = r.u16()?;
    let src_ofs = r.u16()?;
    let dst_ofs = r.u16()?;
    let src = bits(nxm_field(r.u32()?)?, src_ofs, nbits)?;
    let dst = bits(nxm_field(r.u32()?)?, dst_ofs, nbits)?;
    r.zero_rest()?;
    Ok(Action::Move { src, dst })
}

/// NXAST_OUTPUT_REG; `max_len` is for the controller, as for output.
fn output_reg(bytes: &[u8]) -> Result<Action> {
    let mut r = nicira_fixed(bytes, 24, "output_reg")?;
    let packed = r.u16()?;
    let src = ofs_nbits(nxm_field(r.u32()?)?, packed)?;
    r.u16()?;
    r.zeros(6)?;
    Ok(Action::OutputReg(src))
}

/// Instructions: the actions of APPLY_ACTIONS (none when it is absent)
/// and the table of GOTO_TABLE, in whatever order, each at most once.
pub fn decode_instructions(bytes: &[u8]) -> Result<(Vec<Action>, Option<u8>)> {
    let mut actions = None;
    let mut goto = None;
    let mut rest = bytes;
    while !rest.is_empty() {
        let (kind, instruction, next) = split_element(rest, "instruction")?;
        let mut r = Reader::new(instruction, "instruction");
        r.take(4)?;
        let duplicate = match kind {
            4 => {
                r.zeros(4)?;
                actions.replace(decode_actions(r.rest)?).is_some()
            }
            1 => {
                let mut r = fixed(instruction, 8, "goto_table")?;
                let table = r.u8()?;
                r.zeros(3)?;
                goto.replace(table).is_some()
            }
            _ => return Err(DecodeError::UnknownInstruction(kind)),
        };
        if duplicate {
            return Err(DecodeError::DuplicateInstruction(kind));
        }
        rest = next;
    }
    Ok((actions.unwrap_or_default(), goto))
}

/// A match then instructions up to the end of `bytes`.
fn match_and_instructions(bytes: &[u8]) -> Result<(Match, Vec<Action>, Option<u8>)> {
    let (matches, used) = decode_match(bytes)?;
    let rest = bytes.get(used..).ok_or(DecodeError::Truncated {
        what: "ofp_match",
        need: used,
        have: bytes.len(),
    })?;
    let (actions, goto_table) = decode_instructions(rest)?;
    Ok((matches, actions, goto_table))
}

fn command(value: u8) -> Result<Command> {
    Ok(match value {
        0 => Command::Add,
        1 => Command::Modify,
        2 => Command::ModifyStrict,
        3 => Command::Delete,
        4 => Command::DeleteStrict,
        _ => return Err(DecodeError::UnknownCommand(value)),
    })
}

/// The body of a message of `kind` after its header, the header's length
/// being exactly the message's.
fn body(message: &[u8], kind: u8) -> Result<(Header, &[u8])> {
    let header = decode_header(message)?;
    if header.version != OFP13 {
        return Err(DecodeError::BadVersion(header.version));
    }
    if header.kind != kind {
        return Err(DecodeError::BadType {
            kind: header.kind,
            expected: kind,
        });
    }
    let length = usize::from(header.length);
    let what = "message";
    match message.len() {
        n if n < length => Err(DecodeError::Truncated {
            what,
            need: length,
            have: n,
        }),
        n if n > length => Err(DecodeError::Trailing {
            what,
            extra: n - length,
        }),
        _ => Ok((header, message.get(8..).unwrap_or_default())),
    }
}

/// A filter or option of FLOW_MOD the model only has one value for.
fn only(what: &'static str, value: u32, wanted: u32) -> Result<()> {
    match value == wanted {
        true => Ok(()),
        false => Err(DecodeError::Unsupported {
            what,
            value: u64::from(value),
        }),
    }
}

/// A FLOW_MOD message and its xid.
pub fn decode_flow_mod(message: &[u8]) -> Result<(u32, FlowMod)> {
    let (header, body) = body(message, OFPT_FLOW_MOD)?;
    if body.len() < FLOW_MOD_BODY + EMPTY_MATCH {
        return Err(DecodeError::BadLength {
            what: "FLOW_MOD",
            len: message.len(),
        });
    }
    let mut r = Reader::new(body, "FLOW_MOD");
    let cookie = r.u64()?;
    let cookie_mask = r.u64()?;
    let table = r.u8()?;
    let command = command(r.u8()?)?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    only("buffer_id", r.u32()?, ANY)?;
    only("out_port", r.u32()?, ANY)?;
    only("out_group", r.u32()?, ANY)?;
    only("flags", u32::from(r.u16()?), 0)?;
    r.zeros(2)?;
    let (matches, actions, goto_table) = match_and_instructions(r.rest)?;
    let flow = Flow {
        table,
        priority,
        cookie,
        idle_timeout,
        hard_timeout,
        matches,
        actions,
        goto_table,
    };
    let flow_mod = FlowMod {
        command,
        flow,
        cookie_mask,
    };
    Ok((header.xid, flow_mod))
}

/// The body of an OFPMP_FLOW reply (after the multipart header): one
/// flow and its counters per `ofp_flow_stats`, in the switch's order.
pub fn decode_flow_stats(body: &[u8]) -> Result<Vec<(Flow, FlowCounters)>> {
    let mut flows = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let len = usize::from(Reader::new(rest, "ofp_flow_stats").u16()?);
        // At least the fixed part and an empty match: no entry is empty.
        if len < FLOW_STATS_FIXED + EMPTY_MATCH {
            return Err(DecodeError::BadLength {
                what: "ofp_flow_stats",
                len,
            });
        }
        let (entry, next) = rest.split_at_checked(len).ok_or(DecodeError::Truncated {
            what: "ofp_flow_stats",
            need: len,
            have: rest.len(),
        })?;
        flows.push(flow_stats_entry(entry)?);
        rest = next;
    }
    Ok(flows)
}

/// One `ofp_flow_stats`, `entry` being exactly its length. `flags`,
/// `duration_nsec` and the bytes OF1.4 uses for `importance` are read
/// past: the model has no place for them, and a reply is informative.
fn flow_stats_entry(entry: &[u8]) -> Result<(Flow, FlowCounters)> {
    let mut r = Reader::new(entry, "ofp_flow_stats");
    r.take(2)?; // the length, already used
    let table = r.u8()?;
    r.take(1)?;
    let duration_sec = r.u32()?;
    r.u32()?;
    let priority = r.u16()?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    r.take(6)?;
    let cookie = r.u64()?;
    let packets = r.u64()?;
    let bytes = r.u64()?;
    let (matches, actions, goto_table) = match_and_instructions(r.rest)?;
    let flow = Flow {
        table,
        priority,
        cookie,
        idle_timeout,
        hard_timeout,
        matches,
        actions,
        goto_table,
    };
    let counters = FlowCounters {
        packets,
        bytes,
        duration_sec,
    };
    Ok((flow, counters))
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Bits;

    /// The bytes of a hex dump as `ovs-ofctl -mmmmm` prints it: an offset,
    /// sixteen bytes in columns 10 to 58, then the ASCII.
    fn dump(text: &str) -> Vec<u8> {
        text.lines()
            .filter_map(|line| line.trim_start().get(10..58))
            .flat_map(|hex| {
                hex.replace('-', " ")
                    .split_whitespace()
                    .map(|byte| u8::from_str_radix(byte, 16).expect("a hex byte"))
                    .collect::<Vec<u8>>()
            })
            .collect()
    }

    fn mac(text: &str) -> Mac {
        text.parse().expect("a MAC")
    }

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().expect("an IPv4 address")
    }

    fn ip6(text: &str) -> Ipv6Addr {
        text.parse().expect("an IPv6 address")
    }

    /// `ovs-ofctl -O OpenFlow13 -mmmmm parse-flow` of the ARP responder
    /// (OVS 3.1.0), the flow of [`arp_responder`].
    const ARP_RESPONDER_DUMP: &str = "
00000000  04 0e 00 e8 00 00 00 01-00 00 00 01 00 00 00 01 |................|
00000010  00 00 00 00 00 00 00 00-03 00 00 00 00 00 00 c8 |................|
00000020  ff ff ff ff ff ff ff ff-ff ff ff ff 00 00 00 00 |................|
00000030  00 01 00 18 80 00 0a 02-08 06 80 00 2a 02 00 01 |............*...|
00000040  80 00 2e 04 0a 01 00 01-00 04 00 a0 00 00 00 00 |................|
00000050  ff ff 00 18 00 00 23 20-00 06 00 30 00 00 00 00 |......# ...0....|
00000060  00 00 04 06 00 00 02 06-00 19 00 10 80 00 08 06 |................|
00000070  0a 5a 0a 01 00 01 00 00-00 19 00 10 80 00 2a 02 |.Z............*.|
00000080  00 02 00 00 00 00 00 00-ff ff 00 18 00 00 23 20 |..............# |
00000090  00 06 00 30 00 00 00 00-00 01 22 06 00 01 24 06 |...0......\"...$.|
000000a0  00 19 00 10 80 00 30 06-0a 5a 0a 01 00 01 00 00 |......0..Z......|
000000b0  ff ff 00 18 00 00 23 20-00 06 00 20 00 00 00 00 |......# ... ....|
000000c0  00 00 20 04 00 00 22 04-00 19 00 10 80 00 2c 04 |.. ...\".......,.|
000000d0  0a 01 00 01 00 00 00 00-00 00 00 10 ff ff ff f8 |................|
000000e0  00 00 00 00 00 00 00 00-                        |........        |
";

    /// The OFPMP_FLOW reply of a real ovs-vswitchd 3.1.0 (netdev bridge,
    /// `ovs-ofctl -O OpenFlow13 -mmmmm dump-flows`) holding the five flows
    /// of [`stats_flows`], just added: no packets, 0 s old.
    const FLOW_STATS_DUMP: &str = "
00000000  04 13 03 20 00 00 00 02-00 01 00 00 00 00 00 00 |... ............|
00000010  00 78 00 00 00 00 00 00-00 5b 8d 80 00 64 00 00 |.x.......[...d..|
00000020  00 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00 |................|
00000030  00 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00 |................|
00000040  00 01 00 12 80 00 00 04-00 00 00 01 80 00 0c 02 |................|
00000050  10 0a 00 00 00 00 00 00-00 04 00 28 00 00 00 00 |...........(....|
00000060  00 12 00 08 00 00 00 00-ff ff 00 18 00 00 23 20 |..............# |
00000070  00 07 00 1f 00 01 0c 04-00 00 00 00 00 00 00 2a |...............*|
00000080  00 01 00 08 03 00 00 00-00 90 02 00 00 00 00 00 |................|
00000090  00 5b 8d 80 00 0a 00 00-00 00 00 00 00 00 00 00 |.[..............|
000000a0  00 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00 |................|
000000b0  00 00 00 00 00 00 00 00-00 01 00 10 00 01 0f 08 |................|
000000c0  00 00 01 00 00 00 ff 00-00 04 00 50 00 00 00 00 |...........P....|
000000d0  ff ff 00 18 00 00 23 20-00 06 00 20 00 00 00 00 |......# ... ....|
000000e0  00 01 0c 04 00 01 0e 04-ff ff 00 18 00 00 23 20 |..............# |
000000f0  00 06 00 08 00 00 00 08-00 01 0c 04 00 01 10 04 |................|
00000100  ff ff 00 18 00 00 23 20-00 07 00 c0 00 01 12 04 |......# ........|
00000110  00 00 00 00 00 00 00 01-00 e8 03 00 00 00 00 00 |................|
00000120  00 5b 8d 80 00 c8 00 00-00 00 00 00 00 00 00 00 |.[..............|
00000130  00 00 00 01 00 00 00 01-00 00 00 00 00 00 00 00 |................|
00000140  00 00 00 00 00 00 00 00-00 01 00 18 80 00 0a 02 |................|
00000150  08 06 80 00 2a 02 00 01-80 00 2e 04 0a 01 00 01 |....*...........|
00000160  00 04 00 a0 00 00 00 00-ff ff 00 18 00 00 23 20 |..............# |
00000170  00 06 00 30 00 00 00 00-00 00 04 06 00 00 02 06 |...0............|
00000180  00 19 00 10 80 00 08 06-0a 5a 0a 01 00 01 00 00 |.........Z......|
00000190  00 19 00 10 80 00 2a 02-00 02 00 00 00 00 00 00 |......*.........|
000001a0  ff ff 00 18 00 00 23 20-00 06 00 30 00 00 00 00 |......# ...0....|
000001b0  00 01 22 06 00 01 24 06-00 19 00 10 80 00 30 06 |..\"...$.......0.|
000001c0  0a 5a 0a 01 00 01 00 00-ff ff 00 18 00 00 23 20 |.Z............# |
000001d0  00 06 00 20 00 00 00 00-00 00 20 04 00 00 22 04 |... ...... ...\".|
000001e0  00 19 00 10 80 00 2c 04-0a 01 00 01 00 00 00 00 |......,.........|
000001f0  00 00 00 10 ff ff ff f8-00 00 00 00 00 00 00 00 |................|
00000200  00 58 04 00 00 00 00 00-00 5b 8d 80 00 64 00 00 |.X.......[...d..|
00000210  00 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00 |................|
00000220  00 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00 |................|
00000230  00 01 00 04 00 00 00 00-00 04 00 20 00 00 00 00 |........... ....|
00000240  ff ff 00 18 00 00 23 20-00 0f 00 1f 00 01 02 04 |......# ........|
00000250  ff ff 00 00 00 00 00 00-00 c8 05 00 00 00 00 00 |................|
00000260  00 5b 8d 80 00 64 00 3c-00 00 00 00 00 00 00 00 |.[...d.<........|
00000270  00 00 00 00 00 00 00 07-00 00 00 00 00 00 00 00 |................|
00000280  00 00 00 00 00 00 00 00-00 01 00 22 80 00 0a 02 |...........\"....|
00000290  08 00 80 00 17 08 0a 01-00 00 ff ff 00 00 80 00 |................|
000002a0  19 08 0a 02 00 00 ff ff-ff 00 00 00 00 00 00 00 |................|
000002b0  00 04 00 70 00 00 00 00-00 11 00 08 81 00 00 00 |...p............|
000002c0  00 19 00 10 80 00 0c 02-10 0a 00 00 00 00 00 00 |................|
000002d0  00 19 00 10 80 00 4c 08-00 00 00 00 00 00 00 2a |......L........*|
000002e0  00 19 00 10 00 01 40 04-c0 00 02 0c 00 00 00 00 |......@.........|
000002f0  00 00 00 10 00 00 00 02-00 00 00 00 00 00 00 00 |................|
00000300  ff ff 00 10 00 00 23 20-00 0e ff f8 04 00 00 00 |......# ........|
00000310  00 00 00 10 ff ff ff fe-00 00 00 00 00 00 00 00 |................|
";

    fn load(dst: Bits, value: u64) -> Action {
        Action::Load { dst, value }
    }

    fn reg6_is_net() -> Action {
        load(Bits::all(Field::Reg(6)), 0x2a)
    }

    fn arp_responder() -> Flow {
        let gateway = mac("0a:5a:0a:01:00:01");
        let mv = |src, dst| Action::Move {
            src: Bits::all(src),
            dst: Bits::all(dst),
        };
        Flow::new(3, 200)
            .cookie(0x1_0000_0001)
            .matching(Match::new().eth_type(0x0806).arp_op(1).arp_tpa(ip("10.1.0.1")))
            .action(mv(Field::EthSrc, Field::EthDst))
            .action(Action::set_eth_src(gateway))
            .action(Action::set_arp_op(2))
            .action(mv(Field::ArpSha, Field::ArpTha))
            .action(Action::set_arp_sha(gateway))
            .action(mv(Field::ArpSpa, Field::ArpTpa))
            .action(Action::set_arp_spa(ip("10.1.0.1")))
            .action(Action::Output(Port::InPort))
    }

    /// The flows added to the bridge whose reply is [`FLOW_STATS_DUMP`],
    /// in the order OVS returned them.
    fn stats_flows() -> Vec<Flow> {
        let copy = |src, dst| Action::Move { src, dst };
        vec![
            Flow::new(0, 100)
                .matching(Match::new().in_port(1).vlan(10))
                .action(Action::PopVlan)
                .action(reg6_is_net())
                .goto(3),
            Flow::new(2, 10)
                .matching(Match::new().reg_masked(7, 0x100, 0xff00))
                .action(copy(Bits::all(Field::Reg(6)), Bits::all(Field::Reg(7))))
                .action(copy(
                    Bits::range(Field::Reg(6), 0, 7),
                    Bits::range(Field::Reg(8), 8, 15),
                ))
                .action(load(Bits::range(Field::Reg(9), 3, 3), 1)),
            arp_responder(),
            Flow::new(4, 100).action(Action::OutputReg(Bits::all(Field::Reg(1)))),
            Flow::new(5, 100)
                .cookie(7)
                .idle_timeout(60)
                .matching(
                    Match::new()
                        .eth_type(0x0800)
                        .ipv4_src_net(ip("10.1.0.0"), 16)
                        .ipv4_dst_net(ip("10.2.0.0"), 24),
                )
                .action(Action::PushVlan(0x8100))
                .action(Action::set_vlan_vid(10))
                .action(Action::set_tun_id(0x2a))
                .action(Action::set_tun_ipv4_dst(ip("192.0.2.12")))
                .action(Action::Output(Port::Number(2)))
                .action(Action::Resubmit { table: 4 })
                .action(Action::Output(Port::Local)),
        ]
    }

    /// The flows of `tests/golden_ofctl.rs`, whose encoding is checked
    /// there to be `ovs-ofctl`'s byte for byte.
    fn golden_flows() -> Vec<Flow> {
        let port_mac = mac("0a:5a:0a:01:00:05");
        let tunnel = |m: Match| {
            Flow::new(3, 100)
                .matching(m)
                .action(Action::set_tun_id(0x2a))
                .action(Action::set_tun_ipv4_dst(ip("192.0.2.12")))
                .action(Action::Output(Port::Number(2)))
        };
        let ip_flow = |priority, m: Match, port| {
            Flow::new(5, priority)
                .matching(m.eth_type(0x0800))
                .action(Action::Output(port))
        };
        let mut flows = stats_flows();
        flows.extend([
            Flow::new(0, 100).matching(Match::new().in_port(5)).action(reg6_is_net()).goto(1),
            Flow::new(0, 100)
                .matching(Match::new().in_port(2).tun_id(0x2a))
                .action(reg6_is_net())
                .goto(3),
            Flow::new(1, 100)
                .matching(Match::new().in_port(5).eth_src(port_mac).eth_type(0x0800).ipv4_src(ip("10.1.0.5")))
                .goto(3),
            Flow::new(1, 100)
                .matching(Match::new().in_port(5).eth_type(0x0806).arp_spa(ip("10.1.0.5")).arp_sha(port_mac))
                .goto(2),
            Flow::new(1, 100)
                .matching(Match::new().in_port(5).eth_src(port_mac).eth_type(0x86dd).ipv6_src(ip6("fd00:d0c::5")))
                .goto(3),
            Flow::new(1, 90)
                .matching(Match::new().in_port(5).eth_type(0x86dd).ipv6_src_net(ip6("fe80::"), 64))
                .goto(3),
            Flow::new(1, 0),
            Flow::new(2, 200)
                .matching(Match::new().eth_type(0x86dd).ip_proto(58).icmpv6_type(135).nd_target(ip6("fd00:d0c::1")))
                .action(Action::Resubmit { table: 10 }),
            Flow::new(1, 110)
                .matching(Match::new().in_port(5).eth_type(0x86dd).ip_proto(58).icmpv6_type(136).nd_target(ip6("fd00:d0c::5")))
                .goto(3),
            tunnel(Match::new().reg(6, 0x2a).eth_dst(mac("0a:5a:0a:01:00:09"))),
            tunnel(Match::new().reg(6, 0x2a).eth_dst_masked(mac("01:00:00:00:00:00"), mac("01:00:00:00:00:00")))
                .action(Action::set_tun_ipv4_dst(ip("192.0.2.13")))
                .action(Action::Output(Port::Number(2)))
                .action(Action::Resubmit { table: 4 }),
            Flow::new(0, 110)
                .matching(Match::new().in_port(2).tun_id(0x2a).tun_ipv4_src(ip("192.0.2.12")))
                .action(reg6_is_net())
                .goto(3),
            Flow::new(4, 100)
                .matching(Match::new().reg(6, 0x2a).reg(1, 1))
                .action(Action::PushVlan(0x8100))
                .action(Action::set_vlan_vid(10))
                .action(Action::Output(Port::Number(1))),
            Flow::new(3, 100)
                .matching(Match::new().reg(6, 0x2a).eth_dst(port_mac))
                .action(load(Bits::range(Field::Reg(1), 0, 15), 5))
                .action(Action::Resubmit { table: 4 }),
            ip_flow(100, Match::new().ipv4_src_net(ip("10.1.0.0"), 16).ipv4_dst_net(ip("10.2.0.0"), 24), Port::Number(7))
                .action(Action::set_eth_src(mac("0a:5a:0a:02:00:01")))
                .action(Action::set_eth_dst(mac("0a:5a:0a:02:00:07"))),
            ip_flow(90, Match::new().ip_proto(17).ipv4_dst(ip("10.2.0.7")), Port::Local),
            ip_flow(80, Match::new().ip_proto(6), Port::Number(3)),
            ip_flow(70, Match::new().ip_proto(47), Port::Number(3)),
            Flow::new(6, 10)
                .cookie(0xffff_0000_0000_0042)
                .idle_timeout(60)
                .hard_timeout(300)
                .matching(Match::new().eth_type(0x88cc).eth_src(mac("0a:00:00:00:00:01")))
                .action(Action::Output(Port::Number(9))),
            Flow::new(2, 150)
                .matching(Match::new().eth_type(0x0806).arp_op(2).arp_tha(port_mac))
                .action(Action::Output(Port::Number(5))),
            Flow::new(0, 100)
                .matching(Match::new().in_port(1).eth_type(0x0806).arp_op(1).arp_spa(ip("10.1.0.9")).arp_tpa(ip("10.1.0.1")))
                .action(Action::Resubmit { table: 3 }),
        ]);
        flows
    }

    fn encoded(flow: &Flow) -> Vec<u8> {
        flow.add().encode(7).expect("a valid flow")
    }

    #[test]
    fn ovs_ofctl_s_encoding_of_the_arp_responder_decodes_to_it() {
        let bytes = dump(ARP_RESPONDER_DUMP);
        assert_eq!(bytes.len(), 0xe8);
        assert_eq!(decode_flow_mod(&bytes), Ok((1, arp_responder().add())));
    }

    #[test]
    fn a_real_flow_stats_reply_decodes_to_the_flows_added() {
        let message = dump(FLOW_STATS_DUMP);
        let header = decode_header(&message).expect("a header");
        assert_eq!((header.version, header.kind), (OFP13, 19));
        assert_eq!(usize::from(header.length), message.len());
        // The multipart header: OFPMP_FLOW, no REPLY_MORE, 4 bytes pad.
        assert_eq!(message[8..16], [0, 1, 0, 0, 0, 0, 0, 0]);
        let decoded = decode_flow_stats(&message[16..]).expect("a valid reply");
        let counters = FlowCounters::default();
        let expected: Vec<_> = stats_flows().into_iter().map(|f| (f, counters)).collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn every_golden_flow_decodes_back_for_every_command() {
        for flow in golden_flows() {
            assert_eq!(decode_flow_mod(&encoded(&flow)), Ok((7, flow.add())), "{flow}");
            for command in [Command::Modify, Command::ModifyStrict] {
                let fm = FlowMod::new(command, flow.clone());
                assert_eq!(decode_flow_mod(&fm.encode(9).expect("valid")), Ok((9, fm)));
            }
        }
        let delete = FlowMod::delete_by_cookie(0x1_0000_0000_0000, 0xffff_0000_0000_0000);
        assert_eq!(decode_flow_mod(&delete.encode(3).expect("valid")), Ok((3, delete)));
    }

    #[test]
    fn every_field_is_listed_once_with_distinct_headers() {
        // No wildcard: a new `Field` variant fails to compile here until
        // it is added to `FIELDS`.
        fn listed(field: Field) -> bool {
            match field {
                Field::InPort | Field::EthSrc | Field::EthDst | Field::EthType | Field::VlanVid
                | Field::Ipv4Src | Field::Ipv4Dst | Field::Ipv6Src | Field::Ipv6Dst
                | Field::IpProto | Field::Icmpv6Type | Field::NdTarget | Field::ArpOp
                | Field::ArpSpa | Field::ArpTpa | Field::ArpSha | Field::ArpTha | Field::TunId
                | Field::TunIpv4Src | Field::TunIpv4Dst => FIELDS.contains(&field),
                Field::Reg(n) => n <= 15,
            }
        }
        let all: Vec<Field> = every_field().collect();
        assert!(all.iter().all(|&f| listed(f)));
        assert_eq!(all.len(), 36);
        for (i, &field) in all.iter().enumerate() {
            assert_eq!(match_field(field.match_header(false)), Some((field, false)));
            assert_eq!(match_field(field.match_header(true)), Some((field, true)));
            assert_eq!(nxm_field(field.nxm_header()), Ok(field));
            assert!(all[..i].iter().all(|other| other.nxm_header() != field.nxm_header()));
        }
    }

    /// A FLOW_MOD of `flow` with its match replaced by raw `entries`.
    fn with_match_entries(entries: &[u8]) -> Vec<u8> {
        let mut message = encoded(&Flow::new(0, 1));
        message.truncate(48);
        let len = 4 + entries.len();
        message.extend_from_slice(&[0, 1]);
        message.extend_from_slice(&(len as u16).to_be_bytes());
        message.extend_from_slice(entries);
        message.resize(48 + len.div_ceil(8) * 8, 0);
        let total = (message.len() as u16).to_be_bytes();
        message[2..4].copy_from_slice(&total);
        message
    }

    #[test]
    fn matches_the_model_cannot_hold_are_errors() {
        let cases: [(&[u8], DecodeError); 7] = [
            // ip_src/255.0.255.0: not a prefix.
            (
                &[0x80, 0, 0x17, 0x08, 10, 0, 0, 1, 255, 0, 255, 0],
                DecodeError::UnsupportedMask { field: Field::Ipv4Src },
            ),
            // eth_src with a mask: the builders have none.
            (
                &[0x80, 0, 0x09, 0x0c, 1, 2, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0, 0, 0],
                DecodeError::UnsupportedMask { field: Field::EthSrc },
            ),
            // vlan_vid without OFPVID_PRESENT: "untagged", not modelled.
            (
                &[0x80, 0, 0x0c, 0x02, 0x00, 0x0a],
                DecodeError::UnsupportedValue {
                    field: Field::VlanVid,
                    value: vec![0, 10],
                },
            ),
            // in_port twice.
            (
                &[0x80, 0, 0, 4, 0, 0, 0, 1, 0x80, 0, 0, 4, 0, 0, 0, 2],
                DecodeError::DuplicateField(Field::InPort),
            ),
            // OXM_OF_METADATA: not a field of the crate.
            (
                &[0x80, 0, 0x04, 0x08, 0, 0, 0, 0, 0, 0, 0, 1],
                DecodeError::UnknownField { header: 0x8000_0408 },
            ),
            // in_port with a wrong length is an unknown header.
            (&[0x80, 0, 0, 2, 0, 1], DecodeError::UnknownField { header: 0x8000_0002 }),
            // A zero-length entry.
            (&[0x80, 0, 0x02, 0x00], DecodeError::BadLength { what: "match field", len: 0 }),
        ];
        for (entries, error) in cases {
            assert_eq!(decode_flow_mod(&with_match_entries(entries)), Err(error));
        }
        let net = Match::new().eth_type(0x0800).ipv4_dst_net(ip("10.0.0.0"), 0);
        let flow = Flow::new(0, 1).matching(net);
        assert_eq!(decode_flow_mod(&encoded(&flow)), Ok((7, flow.add())));
    }

    #[test]
    fn malformed_matches_are_errors() {
        assert_eq!(decode_match(&[0, 1, 0]), Err(DecodeError::Truncated { what: "ofp_match", need: 2, have: 1 }));
        assert_eq!(decode_match(&[0, 0, 0, 4, 0, 0, 0, 0]), Err(DecodeError::BadMatchType(0)));
        assert_eq!(decode_match(&[0, 1, 0, 3, 0, 0, 0, 0]), Err(DecodeError::BadLength { what: "ofp_match", len: 3 }));
        // The padding is part of the match and must be there.
        assert_eq!(decode_match(&[0, 1, 0, 4, 0, 0]), Err(DecodeError::Truncated { what: "ofp_match", need: 8, have: 6 }));
        // A field cut short by the match's length.
        let cut = [0, 1, 0, 6, 0x80, 0, 0, 4, 0, 0, 0, 0];
        assert!(matches!(decode_match(&cut), Err(DecodeError::Truncated { .. })));
        assert_eq!(decode_match(&[0, 1, 0, 4, 0, 0, 0, 0, 9]), Ok((Match::new(), 8)));
    }

    /// APPLY_ACTIONS of `action` alone.
    fn apply(action: &[u8]) -> Vec<u8> {
        let mut instruction = vec![0, 4, 0, 0, 0, 0, 0, 0];
        instruction[3] = (8 + action.len()) as u8;
        instruction.extend_from_slice(action);
        instruction
    }

    #[test]
    fn actions_the_model_cannot_hold_are_errors() {
        let nx = |subtype: u8, rest: &[u8]| {
            let mut a = vec![0xff, 0xff, 0, 0, 0, 0, 0x23, 0x20, 0, subtype];
            a.extend_from_slice(rest);
            a[3] = a.len() as u8;
            a
        };
        let cases: [(Vec<u8>, DecodeError); 10] = [
            (vec![0, 0, 0, 16, 0xff, 0xff, 0xff, 0xfa, 0, 0, 0, 0, 0, 0, 0, 0], DecodeError::UnsupportedPort(0xffff_fffa)),
            (vec![0, 11, 0, 8, 0, 0, 0, 0], DecodeError::UnknownAction { kind: 11, subtype: None }),
            (nx(16, &[0; 6]), DecodeError::UnknownAction { kind: 0xffff, subtype: Some(16) }),
            (vec![0xff, 0xff, 0, 16, 0, 0, 0x26, 0xe1, 0, 0, 0, 0, 0, 0, 0, 0], DecodeError::UnknownExperimenter(0x26e1)),
            // resubmit(5,1): a resubmit from another port.
            (nx(14, &[0, 5, 1, 0, 0, 0]), DecodeError::Unsupported { what: "resubmit in_port", value: 5 }),
            (nx(14, &[0xff, 0xf8, 1, 0, 0, 1]), DecodeError::NonZero { what: "resubmit" }),
            // load:0x100->NXM_NX_REG0[0..7]: too wide.
            (nx(7, &[0, 7, 0, 1, 0, 4, 0, 0, 0, 0, 0, 0, 1, 0]), DecodeError::ValueTooWide { field: Field::Reg(0), value: 0x100, bits: 8 }),
            // load into reg0 bits 30..33.
            (nx(7, &[0x07, 0x83, 0, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1]), DecodeError::BadBits { field: Field::Reg(0), ofs: 30, nbits: 4 }),
            // move of zero bits.
            (nx(6, &[0, 0, 0, 0, 0, 0, 0, 1, 0, 4, 0, 1, 2, 4]), DecodeError::BadBits { field: Field::Reg(0), ofs: 0, nbits: 0 }),
            // A set_field with a mask (OF1.5's form).
            (vec![0, 25, 0, 16, 0x80, 0, 0x17, 0x08, 10, 0, 0, 0, 255, 0, 0, 0], DecodeError::UnsupportedMask { field: Field::Ipv4Src }),
        ];
        for (action, error) in cases {
            assert_eq!(decode_actions(&action), Err(error.clone()), "{action:02x?}");
            assert_eq!(decode_instructions(&apply(&action)), Err(error));
        }
    }

    #[test]
    fn malformed_actions_and_instructions_are_errors() {
        // A zero length would loop forever if it were taken as it is.
        assert_eq!(decode_actions(&[0, 0, 0, 0, 0, 0, 0, 0]), Err(DecodeError::BadLength { what: "action", len: 0 }));
        assert_eq!(decode_actions(&[0, 18, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]), Err(DecodeError::BadLength { what: "action", len: 12 }));
        assert_eq!(decode_actions(&[0, 18, 0, 16, 0, 0, 0, 0]), Err(DecodeError::Truncated { what: "action", need: 16, have: 8 }));
        assert_eq!(decode_actions(&[0, 18, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(DecodeError::BadLength { what: "pop_vlan", len: 16 }));
        assert_eq!(decode_actions(&[0, 17, 0, 8, 0x81, 0, 0, 1]), Err(DecodeError::NonZero { what: "push_vlan" }));
        assert_eq!(decode_actions(&[0, 17, 0, 8, 0x81, 0, 0, 0]), Ok(vec![Action::PushVlan(0x8100)]));
        assert_eq!(decode_instructions(&[0, 0, 0, 0]), Err(DecodeError::BadLength { what: "instruction", len: 0 }));
        assert_eq!(decode_instructions(&[0, 3, 0, 8, 0, 0, 0, 0]), Err(DecodeError::UnknownInstruction(3)));
        let goto = [0, 1, 0, 8, 4, 0, 0, 0];
        assert_eq!(decode_instructions(&goto), Ok((vec![], Some(4))));
        assert_eq!(decode_instructions(&[goto, goto].concat()), Err(DecodeError::DuplicateInstruction(1)));
        assert_eq!(decode_instructions(&[0, 1, 0, 16, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(DecodeError::BadLength { what: "goto_table", len: 16 }));
        // Instructions in either order, an empty APPLY_ACTIONS.
        assert_eq!(decode_instructions(&[goto, [0, 4, 0, 8, 0, 0, 0, 0]].concat()), Ok((vec![], Some(4))));
    }

    #[test]
    fn headers_and_flow_mod_fields_outside_the_model_are_errors() {
        let good = encoded(&arp_responder());
        assert_eq!(decode_header(&good[..7]), Err(DecodeError::Truncated { what: "OpenFlow header", need: 1, have: 0 }));
        let set = |at: usize, bytes: &[u8]| {
            let mut message = good.clone();
            message[at..at + bytes.len()].copy_from_slice(bytes);
            message
        };
        let cases = [
            (set(0, &[1]), DecodeError::BadVersion(1)),
            (set(1, &[13]), DecodeError::BadType { kind: 13, expected: 14 }),
            (set(2, &[0, 4]), DecodeError::BadLength { what: "OpenFlow header", len: 4 }),
            (set(2, &[0, 0xe0]), DecodeError::Trailing { what: "message", extra: 8 }),
            (set(2, &[0, 0xf0]), DecodeError::Truncated { what: "message", need: 0xf0, have: 0xe8 }),
            (set(25, &[5]), DecodeError::UnknownCommand(5)),
            (set(32, &[0, 0, 0, 1]), DecodeError::Unsupported { what: "buffer_id", value: 1 }),
            (set(36, &[0, 0, 0, 0]), DecodeError::Unsupported { what: "out_port", value: 0 }),
            (set(40, &[0, 0, 0, 0]), DecodeError::Unsupported { what: "out_group", value: 0 }),
            (set(44, &[0, 1]), DecodeError::Unsupported { what: "flags", value: 1 }),
            (set(46, &[0, 1]), DecodeError::NonZero { what: "FLOW_MOD" }),
        ];
        for (message, error) in cases {
            assert_eq!(decode_flow_mod(&message), Err(error));
        }
        let too_short = [4, 14, 0, 8, 0, 0, 0, 1];
        assert_eq!(decode_flow_mod(&too_short), Err(DecodeError::BadLength { what: "FLOW_MOD", len: 8 }));
    }

    #[test]
    fn flow_stats_entries_are_bounded_by_their_length() {
        let message = dump(FLOW_STATS_DUMP);
        let body = &message[16..];
        assert_eq!(decode_flow_stats(&[]), Ok(vec![]));
        // The first entry alone, then cut: a length past the body.
        assert_eq!(decode_flow_stats(&body[..0x78]).map(|f| f.len()), Ok(1));
        assert_eq!(decode_flow_stats(&body[..0x77]), Err(DecodeError::Truncated { what: "ofp_flow_stats", need: 0x78, have: 0x77 }));
        let mut zero = body.to_vec();
        zero[..2].copy_from_slice(&[0, 0]);
        assert_eq!(decode_flow_stats(&zero), Err(DecodeError::BadLength { what: "ofp_flow_stats", len: 0 }));
        // An entry shorter than its match says.
        let mut short = body[..0x78].to_vec();
        short[..2].copy_from_slice(&[0, 0x38]);
        short.truncate(0x38);
        assert!(matches!(decode_flow_stats(&short), Err(DecodeError::Truncated { what: "ofp_match", .. })));
        let mut counted = body[..0x78].to_vec();
        counted[4..8].copy_from_slice(&3u32.to_be_bytes());
        counted[32..40].copy_from_slice(&2u64.to_be_bytes());
        counted[40..48].copy_from_slice(&120u64.to_be_bytes());
        let (_, counters) = decode_flow_stats(&counted).expect("valid")[0].clone();
        assert_eq!(counters, FlowCounters { packets: 2, bytes: 120, duration_sec: 3 });
    }

    #[test]
    fn every_truncation_of_real_messages_is_an_error_not_a_panic() {
        let flow_mod = dump(ARP_RESPONDER_DUMP);
        for end in 0..flow_mod.len() {
            assert!(decode_flow_mod(&flow_mod[..end]).is_err(), "{end}");
            let _ = decode_match(&flow_mod[48..end.max(48)]);
            let _ = decode_instructions(&flow_mod[72..end.max(72)]);
        }
        let stats = dump(FLOW_STATS_DUMP);
        let body = &stats[16..];
        let boundaries = [0, 0x78, 0x118, 0x1f0, 0x248, body.len()];
        for end in 0..=body.len() {
            let decoded = decode_flow_stats(&body[..end]);
            match boundaries.iter().position(|&b| b == end) {
                Some(n) => assert_eq!(decoded.map(|f| f.len()), Ok(n), "{end}"),
                None => assert!(decoded.is_err(), "{end}"),
            }
        }
    }

    #[test]
    fn errors_say_what_was_read() {
        let error = DecodeError::UnknownAction { kind: 0xffff, subtype: Some(35) };
        assert_eq!(error.to_string(), "unknown action type 0xffff, Nicira subtype 35");
        let error = DecodeError::Truncated { what: "action", need: 16, have: 8 };
        assert_eq!(error.to_string(), "action: 16 bytes needed, 8 left");
        assert_eq!(prefix(Field::Ipv6Src, &[0xff; 16]), Ok(128));
        assert_eq!(prefix(Field::Ipv4Src, &[0; 4]), Ok(0));
        assert_eq!(prefix(Field::Ipv4Src, &[0xff, 0xff, 0xfe, 0]), Ok(23));
        assert!(prefix(Field::Ipv4Src, &[0x7f, 0xff, 0xff, 0xff]).is_err());
    }
}
