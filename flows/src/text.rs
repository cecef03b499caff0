//! Field values in `ovs-ofctl` syntax: addresses as addresses, the rest
//! as numbers (hex where OVS prints hex).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::field::Field;
use crate::mac::Mac;

/// A field's value as `ovs-ofctl` writes it.
pub fn value(field: Field, bytes: &[u8]) -> String {
    match field {
        Field::EthSrc | Field::EthDst | Field::ArpSha | Field::ArpTha => mac(bytes),
        Field::Ipv4Src
        | Field::Ipv4Dst
        | Field::ArpSpa
        | Field::ArpTpa
        | Field::TunIpv4Src
        | Field::TunIpv4Dst => ipv4(bytes).to_string(),
        Field::Ipv6Src | Field::Ipv6Dst | Field::NdTarget => ipv6(bytes).to_string(),
        Field::EthType | Field::TunId | Field::Reg(_) => format!("{:#x}", number(bytes)),
        _ => number(bytes).to_string(),
    }
}

/// A mask: a prefix length where it is one, else the mask itself.
pub fn mask(field: Field, bytes: &[u8]) -> String {
    match field {
        Field::Ipv4Src | Field::Ipv4Dst | Field::Ipv6Src | Field::Ipv6Dst => match prefix(bytes) {
            Some(length) => length.to_string(),
            None => value(field, bytes),
        },
        _ => value(field, bytes),
    }
}

/// The prefix length of a contiguous mask.
fn prefix(bytes: &[u8]) -> Option<u32> {
    let ones: u32 = bytes.iter().map(|b| b.count_ones()).sum();
    let contiguous = (0..bytes.len() * 8).all(|bit| {
        let set = bytes[bit / 8] & (0x80 >> (bit % 8)) != 0;
        set == (bit < ones as usize)
    });
    contiguous.then_some(ones)
}

/// The big-endian number in up to 8 bytes.
pub fn number(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |n, b| (n << 8) | u64::from(*b))
}

fn mac(bytes: &[u8]) -> String {
    let mut octets = [0u8; 6];
    octets.copy_from_slice(&bytes[..6]);
    Mac::new(octets).to_string()
}

fn ipv4(bytes: &[u8]) -> Ipv4Addr {
    let mut octets = [0u8; 4];
    octets.copy_from_slice(&bytes[..4]);
    Ipv4Addr::from(octets)
}

fn ipv6(bytes: &[u8]) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&bytes[..16]);
    Ipv6Addr::from(octets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_masks_read_as_ovs_writes_them() {
        assert_eq!(value(Field::EthType, &[0x08, 0x06]), "0x806");
        assert_eq!(value(Field::ArpOp, &[0, 2]), "2");
        assert_eq!(mask(Field::Ipv4Src, &[255, 255, 0, 0]), "16");
        assert_eq!(mask(Field::Ipv4Src, &[255, 0, 255, 0]), "255.0.255.0");
        assert_eq!(value(Field::Reg(6), &[0, 0, 0, 0x2a]), "0x2a");
    }
}
