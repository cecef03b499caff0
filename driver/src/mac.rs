//! Ethernet addresses: parsing Docker's, and deriving stable ones.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::error::{DriverError, Result};

/// A unicast Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// A locally administered address derived from the IPv4 address, so an
    /// endpoint keeps its MAC for as long as it keeps its address and a
    /// neighbour's ARP cache never holds a stale one (the same scheme as
    /// Docker's bridge driver, with another prefix).
    pub fn from_ipv4(address: Ipv4Addr) -> MacAddr {
        let [a, b, c, d] = address.octets();
        MacAddr([0x0a, 0x5a, a, b, c, d])
    }

    /// For endpoints with no IPv4 address: derived from the endpoint id.
    pub fn from_id(hex: &str) -> MacAddr {
        let mut bytes = [0x0a, 0x5b, 0, 0, 0, 0];
        for (slot, pair) in bytes[2..].iter_mut().zip(hex.as_bytes().chunks(2)) {
            let text = std::str::from_utf8(pair).unwrap_or("0");
            *slot = u8::from_str_radix(text, 16).unwrap_or(0);
        }
        MacAddr(bytes)
    }
}

impl FromStr for MacAddr {
    type Err = DriverError;

    fn from_str(text: &str) -> Result<MacAddr> {
        let bad = || {
            DriverError::invalid(
                "MacAddress",
                format!("{:?} is not a MAC address", crate::names::Short(text)),
            )
        };
        let mut bytes = [0u8; 6];
        let mut parts = text.split(':');
        for byte in &mut bytes {
            // from_str_radix alone would take "+a" as a byte.
            let part = parts
                .next()
                .filter(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(bad)?;
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        if bytes[0] & 1 == 1 {
            return Err(DriverError::invalid(
                "MacAddress",
                format!("{text} is a multicast address"),
            ));
        }
        // The kernel refuses it on a device: Join would fail, not CreateEndpoint.
        if bytes == [0; 6] {
            return Err(DriverError::invalid(
                "MacAddress",
                format!("{text} is the all-zero address"),
            ));
        }
        Ok(MacAddr(bytes))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_from_ipv4_and_round_trips() {
        let mac = MacAddr::from_ipv4(Ipv4Addr::new(10, 90, 0, 2));
        assert_eq!(mac.to_string(), "0a:5a:0a:5a:00:02");
        assert_eq!(mac.to_string().parse::<MacAddr>().unwrap(), mac);
        assert_eq!(
            MacAddr::from_id("abcdef0123").to_string(),
            "0a:5b:ab:cd:ef:01"
        );
    }

    #[test]
    fn rejects_malformed_and_multicast() {
        for bad in [
            "",
            "0a:5a:00:00:00",
            "0a:5a:00:00:00:00:00",
            "zz:00:00:00:00:00",
            "01:00:5e:00:00:01",
            "+2:42:ac:11:00:02",
            "00:00:00:00:00:00",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
        assert!("02:42:AC:11:00:02".parse::<MacAddr>().is_ok());
    }
}
