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
use crate::wire::{OFP13, OFP14};

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

mod learn;

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

/// The field of a match or `set_field` header, and whether it is masked.
/// A linear search of 72 headers: matches are short, and deriving the
/// table from `Field` keeps it from drifting from the encoder.
fn match_field(header: u32) -> Option<(Field, bool)> {
    Field::all().find_map(|field| {
        [false, true]
            .into_iter()
            .find(|&masked| field.match_header(masked) == header)
            .map(|masked| (field, masked))
    })
}

/// The field of a Nicira header in a load, move or output.
fn nxm_field(header: u32) -> Result<Field> {
    Field::all()
        .find(|field| field.nxm_header() == header)
        .ok_or(DecodeError::UnknownNxmHeader(header))
}

/// The header of a message: 8 bytes, a length that covers at least them.
pub fn decode_header(bytes: &[u8]) -> Result<Header> {
    let mut r = Reader::new(bytes, "OpenFlow header");
    // Report the header's whole size, which is what a reader waits for.
    if bytes.len() < 8 {
        return Err(r.truncated(8));
    }
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
        learn::SUBTYPE => learn::decode(bytes),
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

/// What a flow's instructions say: the actions of APPLY_ACTIONS (none
/// when it is absent), the table of GOTO_TABLE, the meter of METER.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instructions {
    pub actions: Vec<Action>,
    pub goto_table: Option<u8>,
    pub meter: Option<u32>,
}

/// Instructions, in whatever order, each at most once.
pub fn decode_instructions(bytes: &[u8]) -> Result<Instructions> {
    let mut actions = None;
    let mut goto = None;
    let mut meter = None;
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
            6 => {
                let mut r = fixed(instruction, 8, "meter")?;
                meter.replace(r.u32()?).is_some()
            }
            _ => return Err(DecodeError::UnknownInstruction(kind)),
        };
        if duplicate {
            return Err(DecodeError::DuplicateInstruction(kind));
        }
        rest = next;
    }
    Ok(Instructions {
        actions: actions.unwrap_or_default(),
        goto_table: goto,
        meter,
    })
}

/// A match then instructions up to the end of `bytes`.
fn match_and_instructions(bytes: &[u8]) -> Result<(Match, Instructions)> {
    let (matches, used) = decode_match(bytes)?;
    let rest = bytes.get(used..).ok_or(DecodeError::Truncated {
        what: "ofp_match",
        need: used,
        have: bytes.len(),
    })?;
    Ok((matches, decode_instructions(rest)?))
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
    // A FLOW_MOD reads the same in 1.4 (its `importance` is 1.3's padding).
    if header.version != OFP13 && header.version != OFP14 {
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
    let (matches, instructions) = match_and_instructions(r.rest)?;
    let flow = Flow {
        table,
        priority,
        cookie,
        idle_timeout,
        hard_timeout,
        matches,
        actions: instructions.actions,
        goto_table: instructions.goto_table,
        meter: instructions.meter,
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
    let (matches, instructions) = match_and_instructions(r.rest)?;
    let flow = Flow {
        table,
        priority,
        cookie,
        idle_timeout,
        hard_timeout,
        matches,
        actions: instructions.actions,
        goto_table: instructions.goto_table,
        meter: instructions.meter,
    };
    let counters = FlowCounters {
        packets,
        bytes,
        duration_sec,
    };
    Ok((flow, counters))
}

#[cfg(test)]
mod tests;
