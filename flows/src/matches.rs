//! A flow's match: which packets it applies to.
//!
//! Built field by field ([`Match::new`], then `in_port`, `eth_type`, ...);
//! emitted in OVS's canonical order whatever the order of the calls, and
//! checked for prerequisites (an `arp_tpa` needs `eth_type=0x0806`) before
//! anything is encoded, as OVS would refuse the flow.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use flows::Match;
//!
//! let arp_for_gateway = Match::new()
//!     .eth_type(0x0806)
//!     .arp_op(1)
//!     .arp_tpa(Ipv4Addr::new(10, 1, 0, 1));
//! assert_eq!(arp_for_gateway.to_string(), "arp,arp_op=1,arp_tpa=10.1.0.1");
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{FlowsError, Result};
use crate::field::Field;
use crate::mac::Mac;
use crate::text;
use crate::wire;

pub const ETH_TYPE_IPV4: u16 = 0x0800;
pub const ETH_TYPE_ARP: u16 = 0x0806;
pub const ETH_TYPE_IPV6: u16 = 0x86dd;
pub const IP_PROTO_ICMPV6: u8 = 58;
/// OFPVID_PRESENT: a VLAN tag is there.
pub const VLAN_PRESENT: u16 = 0x1000;

/// The widest field the crate matches on: an IPv6 address.
const WIDEST: usize = 16;

/// A field's bytes, held inline: a switch's dump of tens of thousands of
/// flows decodes into as many matches, and a heap allocation per field
/// would multiply the daemon's peak memory.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FieldBytes {
    len: u8,
    bytes: [u8; WIDEST],
}

impl FieldBytes {
    fn new<const N: usize>(value: &[u8; N]) -> FieldBytes {
        const { assert!(N <= WIDEST, "a field wider than WIDEST") };
        let mut bytes = [0; WIDEST];
        bytes[..N].copy_from_slice(value);
        FieldBytes {
            len: N as u8,
            bytes,
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for FieldBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x?}", self.as_slice())
    }
}

/// A field's value and, when only some of its bits count, its mask.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Entry {
    value: FieldBytes,
    mask: Option<FieldBytes>,
}

/// The fields a flow matches; empty matches every packet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Match {
    /// Sorted by field, at most one entry each: OVS's canonical order.
    fields: Vec<(Field, Entry)>,
}

impl Match {
    /// A match of every packet.
    pub fn new() -> Match {
        Match::default()
    }

    fn with<const N: usize>(
        mut self,
        field: Field,
        value: &[u8; N],
        mask: Option<&[u8; N]>,
    ) -> Match {
        debug_assert_eq!(N, field.bytes(), "{field:?}");
        let entry = Entry {
            value: FieldBytes::new(value),
            mask: mask.map(FieldBytes::new),
        };
        match self.fields.binary_search_by_key(&field, |(f, _)| *f) {
            Ok(at) => self.fields[at].1 = entry,
            Err(at) => self.fields.insert(at, (field, entry)),
        }
        self
    }

    pub fn in_port(self, port: u32) -> Match {
        self.with(Field::InPort, &port.to_be_bytes(), None)
    }

    pub fn eth_src(self, mac: Mac) -> Match {
        self.with(Field::EthSrc, &mac.octets(), None)
    }

    pub fn eth_dst(self, mac: Mac) -> Match {
        self.with(Field::EthDst, &mac.octets(), None)
    }

    /// The destination under `mask` (`01:00:00:00:00:00` is multicast).
    pub fn eth_dst_masked(self, mac: Mac, mask: Mac) -> Match {
        let mask = mask.octets();
        self.with(Field::EthDst, &mac.octets(), Some(&mask))
    }

    pub fn eth_type(self, eth_type: u16) -> Match {
        self.with(Field::EthType, &eth_type.to_be_bytes(), None)
    }

    /// Packets tagged with VLAN `vid` (0 to 4095).
    pub fn vlan(self, vid: u16) -> Match {
        let value = (VLAN_PRESENT | (vid & 0x0fff)).to_be_bytes();
        self.with(Field::VlanVid, &value, None)
    }

    pub fn ipv4_src(self, address: Ipv4Addr) -> Match {
        self.with(Field::Ipv4Src, &address.octets(), None)
    }

    /// The source in `address/prefix`.
    pub fn ipv4_src_net(self, address: Ipv4Addr, prefix: u8) -> Match {
        let mask = ipv4_mask(prefix).octets();
        self.with(Field::Ipv4Src, &address.octets(), Some(&mask))
    }

    pub fn ipv4_dst(self, address: Ipv4Addr) -> Match {
        self.with(Field::Ipv4Dst, &address.octets(), None)
    }

    /// The destination in `address/prefix`.
    pub fn ipv4_dst_net(self, address: Ipv4Addr, prefix: u8) -> Match {
        let mask = ipv4_mask(prefix).octets();
        self.with(Field::Ipv4Dst, &address.octets(), Some(&mask))
    }

    pub fn ipv6_src(self, address: Ipv6Addr) -> Match {
        self.with(Field::Ipv6Src, &address.octets(), None)
    }

    /// The source in `address/prefix`.
    pub fn ipv6_src_net(self, address: Ipv6Addr, prefix: u8) -> Match {
        let mask = ipv6_mask(prefix).octets();
        self.with(Field::Ipv6Src, &address.octets(), Some(&mask))
    }

    pub fn ipv6_dst(self, address: Ipv6Addr) -> Match {
        self.with(Field::Ipv6Dst, &address.octets(), None)
    }

    pub fn ip_proto(self, proto: u8) -> Match {
        self.with(Field::IpProto, &[proto], None)
    }

    pub fn icmpv6_type(self, icmp_type: u8) -> Match {
        self.with(Field::Icmpv6Type, &[icmp_type], None)
    }

    /// The target of a neighbour solicitation or advertisement.
    pub fn nd_target(self, address: Ipv6Addr) -> Match {
        self.with(Field::NdTarget, &address.octets(), None)
    }

    /// ARP's opcode: 1 request, 2 reply.
    pub fn arp_op(self, op: u16) -> Match {
        self.with(Field::ArpOp, &op.to_be_bytes(), None)
    }

    pub fn arp_spa(self, address: Ipv4Addr) -> Match {
        self.with(Field::ArpSpa, &address.octets(), None)
    }

    pub fn arp_tpa(self, address: Ipv4Addr) -> Match {
        self.with(Field::ArpTpa, &address.octets(), None)
    }

    pub fn arp_sha(self, mac: Mac) -> Match {
        self.with(Field::ArpSha, &mac.octets(), None)
    }

    pub fn arp_tha(self, mac: Mac) -> Match {
        self.with(Field::ArpTha, &mac.octets(), None)
    }

    /// The tunnel key (a VXLAN VNI, a Geneve VNI).
    pub fn tun_id(self, id: u64) -> Match {
        self.with(Field::TunId, &id.to_be_bytes(), None)
    }

    pub fn tun_ipv4_src(self, address: Ipv4Addr) -> Match {
        self.with(Field::TunIpv4Src, &address.octets(), None)
    }

    pub fn tun_ipv4_dst(self, address: Ipv4Addr) -> Match {
        self.with(Field::TunIpv4Dst, &address.octets(), None)
    }

    /// Register `n` equal to `value` (`n` is checked when encoding).
    pub fn reg(self, n: u8, value: u32) -> Match {
        self.with(Field::Reg(n), &value.to_be_bytes(), None)
    }

    /// Register `n` equal to `value` in the bits of `mask`.
    pub fn reg_masked(self, n: u8, value: u32, mask: u32) -> Match {
        let mask = Some(&mask.to_be_bytes());
        self.with(Field::Reg(n), &value.to_be_bytes(), mask)
    }

    fn value(&self, field: Field) -> Option<&[u8]> {
        let at = self.fields.binary_search_by_key(&field, |(f, _)| *f).ok()?;
        Some(self.fields[at].1.value.as_slice())
    }

    /// Refuses what OVS refuses: a field without its prerequisite, a
    /// register past reg15.
    pub fn validate(&self) -> Result<()> {
        let eth_type = self.value(Field::EthType).map(text::number);
        let ip_proto = self.value(Field::IpProto).map(text::number);
        let icmp_type = self.value(Field::Icmpv6Type).map(text::number);
        let is = |wanted: u16| eth_type == Some(u64::from(wanted));
        for &(field, _) in &self.fields {
            let (met, needs) = match field {
                Field::Reg(n) if n > 15 => return Err(FlowsError::NoSuchRegister(n)),
                Field::Ipv4Src | Field::Ipv4Dst => (is(ETH_TYPE_IPV4), "eth_type=0x0800"),
                Field::Ipv6Src | Field::Ipv6Dst => (is(ETH_TYPE_IPV6), "eth_type=0x86dd"),
                Field::IpProto => (
                    is(ETH_TYPE_IPV4) || is(ETH_TYPE_IPV6),
                    "eth_type=0x0800 or 0x86dd",
                ),
                Field::ArpOp | Field::ArpSpa | Field::ArpTpa | Field::ArpSha | Field::ArpTha => {
                    (is(ETH_TYPE_ARP), "eth_type=0x0806")
                }
                Field::Icmpv6Type => (
                    is(ETH_TYPE_IPV6) && ip_proto == Some(u64::from(IP_PROTO_ICMPV6)),
                    "eth_type=0x86dd and ip_proto=58",
                ),
                Field::NdTarget => (
                    matches!(icmp_type, Some(135 | 136)),
                    "icmpv6_type=135 or 136",
                ),
                _ => (true, ""),
            };
            if !met {
                return Err(FlowsError::MissingPrerequisite { field, needs });
            }
        }
        Ok(())
    }

    /// Appends the `ofp_match` (OXM type, length, fields, padding to 8).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.validate()?;
        let start = out.len();
        wire::put_u16(out, 1); // OFPMT_OXM
        wire::put_u16(out, 0); // the length, below
        for (field, entry) in &self.fields {
            wire::put_u32(out, field.match_header(entry.mask.is_some()));
            out.extend_from_slice(entry.value.as_slice());
            if let Some(mask) = &entry.mask {
                out.extend_from_slice(mask.as_slice());
            }
        }
        let length = (out.len() - start) as u16;
        out[start + 2..start + 4].copy_from_slice(&length.to_be_bytes());
        wire::pad_to_8(out, start);
        Ok(())
    }
}

fn ipv4_mask(prefix: u8) -> Ipv4Addr {
    let bits = u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0);
    Ipv4Addr::from(bits)
}

fn ipv6_mask(prefix: u8) -> Ipv6Addr {
    let bits = u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from(bits)
}

/// The `ovs-ofctl` shorthand for an Ethernet type and IP protocol, and
/// whether it spells the protocol too.
fn shorthand(eth_type: u64, ip_proto: Option<u64>) -> Option<(&'static str, bool)> {
    let with = |name| Some((name, true));
    match (eth_type as u16, ip_proto.map(|p| p as u8)) {
        (ETH_TYPE_IPV4, Some(1)) => with("icmp"),
        (ETH_TYPE_IPV4, Some(6)) => with("tcp"),
        (ETH_TYPE_IPV4, Some(17)) => with("udp"),
        (ETH_TYPE_IPV4, _) => Some(("ip", false)),
        (ETH_TYPE_IPV6, Some(IP_PROTO_ICMPV6)) => with("icmp6"),
        (ETH_TYPE_IPV6, Some(6)) => with("tcp6"),
        (ETH_TYPE_IPV6, Some(17)) => with("udp6"),
        (ETH_TYPE_IPV6, _) => Some(("ipv6", false)),
        (ETH_TYPE_ARP, _) => Some(("arp", false)),
        _ => None,
    }
}

/// One field as `name=value[/mask]`, in `ovs-ofctl`'s spelling.
fn format_field(field: Field, entry: &Entry) -> String {
    let value = text::value(field, entry.value.as_slice());
    let mask = entry.mask.as_ref().map(|m| text::mask(field, m.as_slice()));
    let name = match field {
        Field::EthSrc => "dl_src".to_string(),
        Field::EthDst => "dl_dst".to_string(),
        Field::Ipv4Src => "nw_src".to_string(),
        Field::Ipv4Dst => "nw_dst".to_string(),
        Field::IpProto => "nw_proto".to_string(),
        Field::Icmpv6Type => "icmp_type".to_string(),
        Field::EthType => "dl_type".to_string(),
        Field::VlanVid if entry.mask.is_none() => {
            return format!("dl_vlan={}", text::number(entry.value.as_slice()) & 0x0fff);
        }
        other => other.name(),
    };
    match mask {
        Some(mask) => format!("{name}={value}/{mask}"),
        None => format!("{name}={value}"),
    }
}

/// The match in `ovs-ofctl` syntax: the protocol shorthand first
/// (`arp`, `ip`, `icmp6`, ...), then each field; empty for every packet.
impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let eth_type = self.value(Field::EthType).map(text::number);
        let ip_proto = self.value(Field::IpProto).map(text::number);
        let short = eth_type.and_then(|t| shorthand(t, ip_proto));
        let mut parts: Vec<String> = short.iter().map(|(name, _)| name.to_string()).collect();
        for (field, entry) in &self.fields {
            let field = *field;
            let spelled = match field {
                Field::EthType => short.is_some(),
                Field::IpProto => short.is_some_and(|(_, proto)| proto),
                _ => false,
            };
            if !spelled {
                parts.push(format_field(field, entry));
            }
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_prerequisite_is_refused_before_encoding() {
        let bad = Match::new().arp_tpa(Ipv4Addr::new(10, 0, 0, 1));
        let error = bad.encode(&mut Vec::new()).expect_err("no eth_type");
        assert_eq!(
            error,
            FlowsError::MissingPrerequisite {
                field: Field::ArpTpa,
                needs: "eth_type=0x0806"
            }
        );
        let nd = Match::new()
            .eth_type(ETH_TYPE_IPV6)
            .ip_proto(IP_PROTO_ICMPV6)
            .icmpv6_type(128)
            .nd_target(Ipv6Addr::LOCALHOST);
        assert!(matches!(
            nd.validate(),
            Err(FlowsError::MissingPrerequisite {
                field: Field::NdTarget,
                ..
            })
        ));
        assert_eq!(
            Match::new().reg(16, 1).validate(),
            Err(FlowsError::NoSuchRegister(16))
        );
    }

    #[test]
    fn fields_are_emitted_in_canonical_order_and_padded() {
        let m = Match::new()
            .arp_tpa(Ipv4Addr::new(10, 10, 1, 1))
            .arp_op(1)
            .eth_type(0x0806);
        let mut out = Vec::new();
        m.encode(&mut out).expect("valid");
        let expected = [
            0x00, 0x01, 0x00, 0x18, 0x80, 0x00, 0x0a, 0x02, 0x08, 0x06, 0x80, 0x00, 0x2a, 0x02,
            0x00, 0x01, 0x80, 0x00, 0x2e, 0x04, 0x0a, 0x0a, 0x01, 0x01,
        ];
        assert_eq!(out, expected);
        let mut empty = Vec::new();
        Match::new().encode(&mut empty).expect("valid");
        assert_eq!(empty, [0, 1, 0, 4, 0, 0, 0, 0]);
    }

    #[test]
    fn masks_become_prefixes_where_they_are_contiguous() {
        assert_eq!(ipv4_mask(16), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(ipv4_mask(0), Ipv4Addr::UNSPECIFIED);
        assert_eq!(ipv6_mask(64).segments()[3], 0xffff);
        let m = Match::new()
            .eth_type(ETH_TYPE_IPV4)
            .ipv4_src_net(Ipv4Addr::new(10, 1, 0, 0), 16);
        assert_eq!(m.to_string(), "ip,nw_src=10.1.0.0/16");
    }
}
