//! The messages of a controller's conversation with a switch other than
//! FLOW_MOD ([`crate::flow`]): hello, echo, barrier, atomic bundles (the
//! ONF extension of OpenFlow 1.3), flow and aggregate statistics; and the
//! parts of the switch's replies the client reads.

use crate::error::{FlowsError, Result};
use crate::matches::Match;
use crate::wire;

pub const OFPT_HELLO: u8 = 0;
pub const OFPT_ERROR: u8 = 1;
pub const OFPT_ECHO_REQUEST: u8 = 2;
pub const OFPT_ECHO_REPLY: u8 = 3;
pub const OFPT_EXPERIMENTER: u8 = 4;
pub const OFPT_MULTIPART_REQUEST: u8 = 18;
pub const OFPT_MULTIPART_REPLY: u8 = 19;
pub const OFPT_BARRIER_REQUEST: u8 = 20;
pub const OFPT_BARRIER_REPLY: u8 = 21;
/// OpenFlow 1.4's own bundle messages.
pub const OFPT_BUNDLE_CONTROL: u8 = 33;
pub const OFPT_BUNDLE_ADD_MESSAGE: u8 = 34;

/// The ONF's experimenter id, and its bundle messages in OpenFlow 1.3.
const ONF_EXPERIMENTER: u32 = 0x4f4e_4600;
const ONFT_BUNDLE_CONTROL: u32 = 2300;
const ONFT_BUNDLE_ADD_MESSAGE: u32 = 2301;

const OFPMP_FLOW: u16 = 1;
const OFPMP_AGGREGATE: u16 = 2;
/// More replies of this multipart request follow.
pub const OFPMPF_REPLY_MORE: u16 = 1;
const OFPTT_ALL: u8 = 0xff;
const ANY: u32 = 0xffff_ffff;

/// Bundle flags: all or nothing, and in the order added.
pub const OFPBF_ATOMIC: u16 = 1;
pub const OFPBF_ORDERED: u16 = 2;

/// A bundle's control requests and their replies (`OFPBCT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleControl {
    Open = 0,
    OpenReply = 1,
    Close = 2,
    CloseReply = 3,
    Commit = 4,
    CommitReply = 5,
    Discard = 6,
    DiscardReply = 7,
}

/// HELLO offering OpenFlow 1.3 and 1.4 in a version bitmap.
pub fn hello(xid: u32) -> Result<Vec<u8>> {
    let mut out = wire::start_message(OFPT_HELLO, xid);
    out[0] = wire::OFP14;
    wire::put_u16(&mut out, 1); // OFPHET_VERSIONBITMAP
    wire::put_u16(&mut out, 8);
    wire::put_u32(&mut out, (1 << wire::OFP13) | (1 << wire::OFP14));
    wire::finish(out)
}

/// The version to speak after the switch's HELLO: the highest both offer
/// (by the switch's bitmap if it sent one, else its header's version).
pub fn negotiate(switch_hello: &[u8]) -> Option<u8> {
    let header_version = *switch_hello.first()?;
    // A bitmap element (type 1) lists every version the switch speaks;
    // without one it speaks every version up to its header's.
    let bitmap = (wire::get_u16(switch_hello, 8) == Some(1))
        .then(|| wire::get_u32(switch_hello, 12))
        .flatten();
    let speaks = |version: u8| match bitmap {
        Some(bits) => bits & (1 << version) != 0,
        None => header_version >= version,
    };
    [wire::OFP14, wire::OFP13]
        .into_iter()
        .find(|&version| speaks(version))
}

/// ECHO_REQUEST or ECHO_REPLY carrying `data`.
pub fn echo(kind: u8, xid: u32, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = wire::start_message(kind, xid);
    out.extend_from_slice(data);
    wire::finish(out)
}

pub fn barrier_request(xid: u32) -> Result<Vec<u8>> {
    wire::finish(wire::start_message(OFPT_BARRIER_REQUEST, xid))
}

/// The start of an ONF bundle message: experimenter header, bundle id,
/// the control type (0 for an add) and the flags.
fn bundle_message(xid: u32, subtype: u32, id: u32, control: u16, flags: u16) -> Vec<u8> {
    let mut out = wire::start_message(OFPT_EXPERIMENTER, xid);
    wire::put_u32(&mut out, ONF_EXPERIMENTER);
    wire::put_u32(&mut out, subtype);
    wire::put_u32(&mut out, id);
    wire::put_u16(&mut out, control);
    wire::put_u16(&mut out, flags);
    out
}

/// OpenFlow 1.4's native bundle message: header, bundle id, control
/// type (0 for an add), flags.
fn native_bundle_message(kind: u8, xid: u32, id: u32, control: u16, flags: u16) -> Vec<u8> {
    let mut out = wire::start_message(kind, xid);
    out[0] = wire::OFP14;
    wire::put_u32(&mut out, id);
    wire::put_u16(&mut out, control);
    wire::put_u16(&mut out, flags);
    out
}

/// A bundle control request: open, close, commit or discard bundle `id`,
/// as OpenFlow `version` spells it (1.3: the ONF extension).
pub fn bundle_control(
    version: u8,
    xid: u32,
    id: u32,
    control: BundleControl,
    flags: u16,
) -> Result<Vec<u8>> {
    let out = match version {
        wire::OFP14 => native_bundle_message(OFPT_BUNDLE_CONTROL, xid, id, control as u16, flags),
        _ => bundle_message(xid, ONFT_BUNDLE_CONTROL, id, control as u16, flags),
    };
    wire::finish(out)
}

/// `inner` added to bundle `id`; its xid becomes this message's, as the
/// switch requires (else `OFPBFC_MSG_BAD_XID`), and its version the
/// bundle's.
pub fn bundle_add(version: u8, xid: u32, id: u32, flags: u16, inner: &[u8]) -> Result<Vec<u8>> {
    let mut out = match version {
        wire::OFP14 => native_bundle_message(OFPT_BUNDLE_ADD_MESSAGE, xid, id, 0, flags),
        _ => bundle_message(xid, ONFT_BUNDLE_ADD_MESSAGE, id, 0, flags),
    };
    let start = out.len();
    out.extend_from_slice(inner);
    if out.len() >= start + wire::XID_END {
        out[start] = version;
        out[start + 4..start + 8].copy_from_slice(&xid.to_be_bytes());
    }
    wire::finish(out)
}

/// A flow or aggregate statistics request over every table, filtered
/// by cookie (`cookie` in the bits of `mask`; mask 0: every flow).
fn stats_request(xid: u32, kind: u16, cookie: u64, mask: u64) -> Result<Vec<u8>> {
    let mut out = wire::start_message(OFPT_MULTIPART_REQUEST, xid);
    wire::put_u16(&mut out, kind);
    wire::put_u16(&mut out, 0); // flags
    wire::put_zeros(&mut out, 4);
    wire::put_u8(&mut out, OFPTT_ALL);
    wire::put_zeros(&mut out, 3);
    wire::put_u32(&mut out, ANY); // out_port
    wire::put_u32(&mut out, ANY); // out_group
    wire::put_zeros(&mut out, 4);
    wire::put_u64(&mut out, cookie);
    wire::put_u64(&mut out, mask);
    Match::new().encode(&mut out)?;
    wire::finish(out)
}

pub fn flow_stats_request(xid: u32, cookie: u64, mask: u64) -> Result<Vec<u8>> {
    stats_request(xid, OFPMP_FLOW, cookie, mask)
}

pub fn aggregate_stats_request(xid: u32, cookie: u64, mask: u64) -> Result<Vec<u8>> {
    stats_request(xid, OFPMP_AGGREGATE, cookie, mask)
}

/// An OFPT_ERROR: its type and code (for an experimenter error, the
/// experimenter's type and id), and what it quotes of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchError {
    pub kind: u16,
    pub code: u16,
    pub experimenter: Option<u32>,
    pub data: Vec<u8>,
}

impl SwitchError {
    /// The body of an OFPT_ERROR message.
    pub fn parse(body: &[u8]) -> Result<SwitchError> {
        let kind = wire::get_u16(body, 0).ok_or(FlowsError::Malformed("an error message"))?;
        let code = wire::get_u16(body, 2).ok_or(FlowsError::Malformed("an error message"))?;
        if kind == 0xffff {
            let experimenter = wire::get_u32(body, 4);
            let data = body.get(8..).unwrap_or_default().to_vec();
            return Ok(SwitchError {
                kind,
                code,
                experimenter,
                data,
            });
        }
        Ok(SwitchError {
            kind,
            code,
            experimenter: None,
            data: body.get(4..).unwrap_or_default().to_vec(),
        })
    }
}

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = error_name(self.kind, self.code);
        match self.experimenter {
            Some(id) => write!(f, "experimenter {id:#x} error {} ({name})", self.code),
            None => write!(f, "error type {} code {} ({name})", self.kind, self.code),
        }
    }
}

/// OpenFlow 1.3's names of the errors a flow program meets most.
fn error_name(kind: u16, code: u16) -> &'static str {
    match (kind, code) {
        (1, _) => "OFPET_BAD_REQUEST",
        (2, 4) => "OFPBAC_BAD_OUT_PORT",
        (2, _) => "OFPET_BAD_ACTION",
        (3, 1) => "OFPBIC_UNSUP_INST",
        (3, 2) => "OFPBIC_BAD_TABLE_ID",
        (3, _) => "OFPET_BAD_INSTRUCTION",
        (4, 9) => "OFPBMC_BAD_PREREQ",
        (4, _) => "OFPET_BAD_MATCH",
        (5, 0) => "OFPFMFC_UNKNOWN",
        (5, 1) => "OFPFMFC_TABLE_FULL",
        (5, 2) => "OFPFMFC_BAD_TABLE_ID",
        (5, _) => "OFPET_FLOW_MOD_FAILED",
        (17, _) => "OFPET_BUNDLE_FAILED",
        (0xffff, _) => "an experimenter's error",
        _ => "see the OpenFlow 1.3 specification",
    }
}

/// The aggregate of the flows a request selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregate {
    pub packets: u64,
    pub bytes: u64,
    pub flows: u32,
}

impl Aggregate {
    /// The body of an OFPMP_AGGREGATE reply (after the multipart header).
    pub fn parse(body: &[u8]) -> Result<Aggregate> {
        let bad = FlowsError::Malformed("an aggregate statistics reply");
        Ok(Aggregate {
            packets: wire::get_u64(body, 0).ok_or(bad.clone())?,
            bytes: wire::get_u64(body, 8).ok_or(bad.clone())?,
            flows: wire::get_u32(body, 16).ok_or(bad)?,
        })
    }
}

/// A multipart reply's type, flags and body.
pub fn multipart_reply(body: &[u8]) -> Result<(u16, u16, &[u8])> {
    let bad = FlowsError::Malformed("a multipart reply");
    let kind = wire::get_u16(body, 0).ok_or(bad.clone())?;
    let flags = wire::get_u16(body, 2).ok_or(bad.clone())?;
    Ok((kind, flags, body.get(8..).ok_or(bad)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hello_offers_openflow_1_3_and_1_4_in_a_bitmap() {
        assert_eq!(
            hex(&hello(7).expect("hello")),
            "05000010000000070001000800000030"
        );
    }

    #[test]
    fn the_highest_common_version_is_spoken() {
        let bitmap = |bits: u32| {
            let mut hello = vec![6, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8];
            hello.extend_from_slice(&bits.to_be_bytes());
            hello
        };
        assert_eq!(negotiate(&bitmap(0x30)), Some(wire::OFP14));
        assert_eq!(negotiate(&bitmap(0x10)), Some(wire::OFP13));
        assert_eq!(negotiate(&bitmap(0x02)), None);
        assert_eq!(negotiate(&[4, 0, 0, 8, 0, 0, 0, 1]), Some(wire::OFP13));
        assert_eq!(negotiate(&[6, 0, 0, 8, 0, 0, 0, 1]), Some(wire::OFP14));
        assert_eq!(negotiate(&[1, 0, 0, 8, 0, 0, 0, 1]), None);
        assert_eq!(negotiate(&[]), None);
    }

    #[test]
    fn a_bundle_add_carries_its_own_xid_inside() {
        let inner = crate::flow::Flow::new(0, 1).add().encode(99).expect("flow");
        let added = bundle_add(wire::OFP13, 5, 1, OFPBF_ATOMIC, &inner).expect("add");
        assert_eq!(&added[..4], &[4, OFPT_EXPERIMENTER, 0, 0x50]);
        assert_eq!(&added[8..16], &[0x4f, 0x4e, 0x46, 0, 0, 0, 0x08, 0xfd]);
        assert_eq!(&added[24..28], &[4, 14, 0, 0x38]);
        assert_eq!(&added[28..32], &5u32.to_be_bytes());
    }

    #[test]
    fn errors_name_type_and_code_and_survive_short_bodies() {
        let error = SwitchError::parse(&[0, 4, 0, 9, 1, 2]).expect("an error");
        assert_eq!(
            (error.kind, error.code, &error.data[..]),
            (4, 9, &[1u8, 2][..])
        );
        assert!(error.to_string().contains("OFPBMC_BAD_PREREQ"));
        assert!(SwitchError::parse(&[0, 4]).is_err());
        let onf = SwitchError::parse(&[0xff, 0xff, 0x09, 0x09, 0x4f, 0x4e, 0x46, 0]).expect("ok");
        assert_eq!(onf.experimenter, Some(ONF_EXPERIMENTER));
        assert!(Aggregate::parse(&[0; 10]).is_err());
    }
}
