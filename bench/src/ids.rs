//! Names and addresses of everything the benchmark creates. Every Docker
//! id starts with [`PREFIX`], and so do the Python driver's and the
//! hand-bound ports' device names, so that [`crate::sweep`] finds what an
//! interrupted run left.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};

/// The first hex digits of every id the benchmark makes.
pub const PREFIX: &str = "be0c";

/// A Docker-style id (64 hex digits) starting with [`PREFIX`].
pub fn docker_id() -> String {
    let random = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    format!("{PREFIX}{}", &random[PREFIX.len()..])
}

/// Hands out the addresses of one /16, as Docker's IPAM would: .0.1 is the
/// gateway, endpoints get .0.2 onwards, never twice.
pub struct Addresses {
    base: u32,
    next: AtomicU32,
}

impl Addresses {
    /// The /16 `10.<second>.0.0`.
    pub fn new(second: u8) -> Addresses {
        Addresses {
            base: u32::from(Ipv4Addr::new(10, second, 0, 0)),
            next: AtomicU32::new(2),
        }
    }

    pub fn pool(&self) -> String {
        format!("{}/16", Ipv4Addr::from(self.base))
    }

    pub fn gateway(&self) -> String {
        format!("{}/16", Ipv4Addr::from(self.base + 1))
    }

    /// The next free endpoint address, in CIDR form.
    pub fn next(&self) -> String {
        let offset = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}/16", Ipv4Addr::from(self.base + offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_dockers_and_carry_the_prefix() {
        let id = docker_id();
        assert_eq!(id.len(), 64);
        assert!(id.starts_with(PREFIX));
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, docker_id());
    }

    #[test]
    fn addresses_start_after_the_gateway() {
        let addresses = Addresses::new(240);
        assert_eq!(addresses.pool(), "10.240.0.0/16");
        assert_eq!(addresses.gateway(), "10.240.0.1/16");
        assert_eq!(addresses.next(), "10.240.0.2/16");
        assert_eq!(addresses.next(), "10.240.0.3/16");
    }
}
