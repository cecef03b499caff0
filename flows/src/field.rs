//! The packet fields the crate matches on, sets, loads and moves, with
//! their OXM/NXM headers and their names in `ovs-ofctl` syntax.
//!
//! The order of the variants is the order in which OVS itself emits match
//! fields (`nx_put_raw` in OVS's `lib/nx-match.c`), so a match encodes to
//! the bytes OVS encodes and returns in flow statistics.

use std::fmt;

/// A header's class: the OpenFlow basic class or Nicira's two.
const OXM_BASIC: u32 = 0x8000;
const NXM0: u32 = 0x0000;
const NXM1: u32 = 0x0001;

/// One packet field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    InPort,
    EthSrc,
    EthDst,
    EthType,
    /// The VLAN id with OFPVID_PRESENT (0x1000) set when a tag is there.
    VlanVid,
    Ipv4Src,
    Ipv4Dst,
    Ipv6Src,
    Ipv6Dst,
    IpProto,
    Icmpv6Type,
    NdTarget,
    ArpOp,
    ArpSpa,
    ArpTpa,
    ArpSha,
    ArpTha,
    TunId,
    TunIpv4Src,
    TunIpv4Dst,
    /// `reg0` to `reg15`.
    Reg(u8),
}

/// Every field but the registers, in `Field`'s order (the decoder's tests
/// check that none is missing).
pub const FIELDS: [Field; 20] = [
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

/// `(class, field number, bytes)` in a match or `set_field`.
const fn oxm(field: Field) -> (u32, u32, u32) {
    match field {
        Field::InPort => (OXM_BASIC, 0, 4),
        Field::EthDst => (OXM_BASIC, 3, 6),
        Field::EthSrc => (OXM_BASIC, 4, 6),
        Field::EthType => (OXM_BASIC, 5, 2),
        Field::VlanVid => (OXM_BASIC, 6, 2),
        Field::IpProto => (OXM_BASIC, 10, 1),
        Field::Ipv4Src => (OXM_BASIC, 11, 4),
        Field::Ipv4Dst => (OXM_BASIC, 12, 4),
        Field::ArpOp => (OXM_BASIC, 21, 2),
        Field::ArpSpa => (OXM_BASIC, 22, 4),
        Field::ArpTpa => (OXM_BASIC, 23, 4),
        Field::ArpSha => (OXM_BASIC, 24, 6),
        Field::ArpTha => (OXM_BASIC, 25, 6),
        Field::Ipv6Src => (OXM_BASIC, 26, 16),
        Field::Ipv6Dst => (OXM_BASIC, 27, 16),
        Field::Icmpv6Type => (OXM_BASIC, 29, 1),
        Field::NdTarget => (OXM_BASIC, 31, 16),
        Field::TunId => (OXM_BASIC, 38, 8),
        // No OXM of their own: OVS uses the Nicira headers here too.
        Field::TunIpv4Src => (NXM1, 31, 4),
        Field::TunIpv4Dst => (NXM1, 32, 4),
        Field::Reg(n) => (NXM1, n as u32, 4),
    }
}

/// `(class, field number)` of the Nicira header that moves and loads
/// name (`NXM_OF_*` is class 0, `NXM_NX_*` class 1).
const fn nxm(field: Field) -> (u32, u32) {
    match field {
        Field::InPort => (NXM0, 0),
        Field::EthDst => (NXM0, 1),
        Field::EthSrc => (NXM0, 2),
        Field::EthType => (NXM0, 3),
        Field::VlanVid => (NXM0, 4),
        Field::IpProto => (NXM0, 6),
        Field::Ipv4Src => (NXM0, 7),
        Field::Ipv4Dst => (NXM0, 8),
        Field::ArpOp => (NXM0, 15),
        Field::ArpSpa => (NXM0, 16),
        Field::ArpTpa => (NXM0, 17),
        Field::TunId => (NXM1, 16),
        Field::ArpSha => (NXM1, 17),
        Field::ArpTha => (NXM1, 18),
        Field::Ipv6Src => (NXM1, 19),
        Field::Ipv6Dst => (NXM1, 20),
        Field::Icmpv6Type => (NXM1, 21),
        Field::NdTarget => (NXM1, 23),
        Field::TunIpv4Src => (NXM1, 31),
        Field::TunIpv4Dst => (NXM1, 32),
        Field::Reg(n) => (NXM1, n as u32),
    }
}

impl Field {
    /// Every field the crate knows, registers 0 to 15 last.
    pub fn all() -> impl Iterator<Item = Field> {
        FIELDS.into_iter().chain((0..=15).map(Field::Reg))
    }

    /// The field's width in bytes in a match or `set_field` (OXM).
    pub const fn bytes(self) -> usize {
        oxm(self).2 as usize
    }

    /// The field's width in bytes as `load`, `move` and `learn` name it
    /// (NXM): OpenFlow 1.0's 16-bit port number for `NXM_OF_IN_PORT`.
    const fn nxm_bytes(self) -> u32 {
        match self {
            Field::InPort => 2,
            _ => oxm(self).2,
        }
    }

    /// The field's width in bits in `load`, `move` and `learn`.
    pub const fn bits(self) -> u16 {
        (self.nxm_bytes() * 8) as u16
    }

    /// The header of the field in a match or `set_field`, with the
    /// has-mask bit set when `masked` (which doubles the payload).
    pub const fn match_header(self, masked: bool) -> u32 {
        let (class, field, bytes) = oxm(self);
        let (hasmask, len) = if masked { (1, bytes * 2) } else { (0, bytes) };
        (class << 16) | (field << 9) | (hasmask << 8) | len
    }

    /// The Nicira header that names the field in `move` and `load`.
    pub const fn nxm_header(self) -> u32 {
        let (class, field) = nxm(self);
        (class << 16) | (field << 9) | self.nxm_bytes()
    }

    /// The field's name in `ovs-ofctl` matches and `set_field`.
    pub fn name(self) -> String {
        let name = match self {
            Field::InPort => "in_port",
            Field::EthSrc => "eth_src",
            Field::EthDst => "eth_dst",
            Field::EthType => "eth_type",
            Field::VlanVid => "vlan_vid",
            Field::Ipv4Src => "ip_src",
            Field::Ipv4Dst => "ip_dst",
            Field::Ipv6Src => "ipv6_src",
            Field::Ipv6Dst => "ipv6_dst",
            Field::IpProto => "ip_proto",
            Field::Icmpv6Type => "icmpv6_type",
            Field::NdTarget => "nd_target",
            Field::ArpOp => "arp_op",
            Field::ArpSpa => "arp_spa",
            Field::ArpTpa => "arp_tpa",
            Field::ArpSha => "arp_sha",
            Field::ArpTha => "arp_tha",
            Field::TunId => "tun_id",
            Field::TunIpv4Src => "tun_src",
            Field::TunIpv4Dst => "tun_dst",
            Field::Reg(n) => return format!("reg{n}"),
        };
        name.to_string()
    }

    /// The Nicira name `move` and `load` print (`NXM_NX_REG6`).
    pub fn nxm_name(self) -> String {
        let name = match self {
            Field::InPort => "NXM_OF_IN_PORT",
            Field::EthSrc => "NXM_OF_ETH_SRC",
            Field::EthDst => "NXM_OF_ETH_DST",
            Field::EthType => "NXM_OF_ETH_TYPE",
            Field::VlanVid => "NXM_OF_VLAN_TCI",
            Field::Ipv4Src => "NXM_OF_IP_SRC",
            Field::Ipv4Dst => "NXM_OF_IP_DST",
            Field::Ipv6Src => "NXM_NX_IPV6_SRC",
            Field::Ipv6Dst => "NXM_NX_IPV6_DST",
            Field::IpProto => "NXM_OF_IP_PROTO",
            Field::Icmpv6Type => "NXM_NX_ICMPV6_TYPE",
            Field::NdTarget => "NXM_NX_ND_TARGET",
            Field::ArpOp => "NXM_OF_ARP_OP",
            Field::ArpSpa => "NXM_OF_ARP_SPA",
            Field::ArpTpa => "NXM_OF_ARP_TPA",
            Field::ArpSha => "NXM_NX_ARP_SHA",
            Field::ArpTha => "NXM_NX_ARP_THA",
            Field::TunId => "NXM_NX_TUN_ID",
            Field::TunIpv4Src => "NXM_NX_TUN_IPV4_SRC",
            Field::TunIpv4Dst => "NXM_NX_TUN_IPV4_DST",
            Field::Reg(n) => return format!("NXM_NX_REG{n}"),
        };
        name.to_string()
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_those_ovs_uses() {
        // From `ovs-ofctl parse-oxm` and OVS's meta-flow.xml.
        assert_eq!(Field::InPort.match_header(false), 0x8000_0004);
        assert_eq!(Field::EthSrc.match_header(false), 0x8000_0806);
        assert_eq!(Field::Ipv4Src.match_header(true), 0x8000_1708);
        assert_eq!(Field::ArpTha.match_header(false), 0x8000_3206);
        assert_eq!(Field::NdTarget.match_header(false), 0x8000_3e10);
        assert_eq!(Field::TunId.match_header(false), 0x8000_4c08);
        assert_eq!(Field::TunIpv4Dst.match_header(false), 0x0001_4004);
        assert_eq!(Field::Reg(6).match_header(false), 0x0001_0c04);
        assert_eq!(Field::EthSrc.nxm_header(), 0x0000_0406);
        assert_eq!(Field::ArpSha.nxm_header(), 0x0001_2206);
        assert_eq!(Field::ArpSpa.nxm_header(), 0x0000_2004);
        assert_eq!(Field::InPort.nxm_header(), 0x0000_0002);
    }

    #[test]
    fn the_order_is_ovs_s_emission_order() {
        let mut fields = vec![Field::Reg(1), Field::ArpOp, Field::EthType, Field::InPort];
        fields.sort();
        assert_eq!(
            fields,
            [Field::InPort, Field::EthType, Field::ArpOp, Field::Reg(1)]
        );
    }
}
