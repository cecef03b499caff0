//! An Ethernet address.

use std::fmt;
use std::str::FromStr;

/// A MAC address, printed as `0a:00:00:00:00:01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac([u8; 6]);

impl Mac {
    pub const fn new(octets: [u8; 6]) -> Mac {
        Mac(octets)
    }

    pub const fn octets(self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// `"xx:xx:xx:xx:xx:xx"` was not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a MAC address (six hex octets separated by colons)")]
pub struct BadMac(pub String);

impl FromStr for Mac {
    type Err = BadMac;

    fn from_str(text: &str) -> Result<Mac, BadMac> {
        let bad = || BadMac(text.to_string());
        let mut octets = [0u8; 6];
        let mut parts = text.split(':');
        for octet in &mut octets {
            let part = parts.next().filter(|p| p.len() == 2).ok_or_else(bad)?;
            *octet = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        match parts.next() {
            None => Ok(Mac(octets)),
            Some(_) => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_same_text() {
        let mac: Mac = "0a:5a:0a:5a:00:02".parse().expect("a MAC");
        assert_eq!(mac.to_string(), "0a:5a:0a:5a:00:02");
        for bad in [
            "",
            "0a:5a:0a:5a:00",
            "0a:5a:0a:5a:00:02:03",
            "0a:5a:0a:5a:00:2g",
            "a:5a:0a:5a:00:02",
        ] {
            assert!(bad.parse::<Mac>().is_err(), "{bad}");
        }
    }
}
