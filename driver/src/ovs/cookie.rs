//! Which flows are the driver's, and whose: the 64-bit cookie.
//!
//! ```text
//!  63      56 55          40 39           24 23                    0
//! ┌──────────┬──────────────┬───────────────┬───────────────────────┐
//! │ 0xd0     │ round        │ network index │ endpoint (its ofport) │
//! └──────────┴──────────────┴───────────────┴───────────────────────┘
//! ```
//! The top byte marks the driver's flows: every flow of another cookie is
//! foreign and never touched. The round changes at each full resync (start,
//! switch restart, reconciliation that finds flows missing): the current
//! round's flows are added over the old ones (same match and priority
//! replaces, so nothing drops meanwhile), then the older rounds' cookies
//! are deleted. Network 0 holds the pipeline's own flows; endpoint 0 a
//! network's (gateway, responder for the gateway). Endpoint values from
//! [`LEARNED`] up (never an ofport: those end below 0xff00) are the flows
//! the switch learns from a peer's packets (`learn`), in round 0: they
//! are the switch's, not the databases', so a resync keeps them and only
//! their network's deletion or their peer's removal takes them.

/// The driver's mark in a cookie's top byte.
pub const MARK: u64 = 0xd0 << 56;
/// The bits of [`MARK`].
pub const MARK_MASK: u64 = 0xff << 56;
const ROUND_SHIFT: u32 = 40;
const NETWORK_SHIFT: u32 = 24;
const ENDPOINT_MASK: u64 = 0xff_ffff;
/// The endpoint bit of learned flows; the peer's address fills the rest.
pub const LEARNED: u32 = 0x80_0000;
/// Every bit but the round's: an owner's flows whatever round wrote them.
pub const OWNER_MASK: u64 = !(0xffff << ROUND_SHIFT);
/// The round's bits.
pub const ROUND_MASK: u64 = 0xffff << ROUND_SHIFT;
const NETWORK_MASK: u64 = 0xffff << NETWORK_SHIFT;

/// (cookie, mask) of every flow of round `round`.
pub fn of_round(round: u16) -> (u64, u64) {
    (
        MARK | u64::from(round) << ROUND_SHIFT,
        MARK_MASK | ROUND_MASK,
    )
}

/// (cookie, mask) of every flow of the endpoint on OpenFlow port
/// `ofport`, whatever its network and round: a port number is unique on
/// the bridge, and its flows must go before the port can be reused.
pub fn of_port(ofport: u32) -> (u64, u64) {
    (
        MARK | (u64::from(ofport) & ENDPOINT_MASK),
        MARK_MASK | ENDPOINT_MASK,
    )
}

/// (cookie, mask) of every flow of network `index` and its endpoints.
pub fn of_network(index: u16) -> (u64, u64) {
    (
        MARK | u64::from(index) << NETWORK_SHIFT,
        MARK_MASK | NETWORK_MASK,
    )
}

/// (cookie, mask) of every flow learned from peer `peer`, in any network.
pub fn of_learned_from(peer: std::net::Ipv4Addr) -> (u64, u64) {
    of_port(learned_endpoint(peer))
}

/// The endpoint value of flows learned from `peer`: its address's low
/// 23 bits (peers of one underlay differ there).
fn learned_endpoint(peer: std::net::Ipv4Addr) -> u32 {
    LEARNED | (u32::from(peer) & (LEARNED - 1))
}

/// Who owns a flow: the pipeline, a network, or an endpoint of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    pub network: u16,
    /// The endpoint's OpenFlow port; 0 for the network's own flows.
    pub endpoint: u32,
}

impl Owner {
    /// The pipeline's own flows (the drops, the output table).
    pub const PIPELINE: Owner = Owner {
        network: 0,
        endpoint: 0,
    };

    pub fn network(network: u16) -> Owner {
        Owner {
            network,
            endpoint: 0,
        }
    }

    pub fn endpoint(network: u16, ofport: u32) -> Owner {
        Owner {
            network,
            endpoint: ofport,
        }
    }

    /// The flows network `network` learns from peer `peer`.
    pub fn learned(network: u16, peer: std::net::Ipv4Addr) -> Owner {
        Owner {
            network,
            endpoint: learned_endpoint(peer),
        }
    }

    /// Whether the switch made these flows (`learn`), not the driver.
    pub fn is_learned(self) -> bool {
        self.endpoint & LEARNED != 0
    }

    /// This owner's cookie in `round`.
    pub fn cookie(self, round: u16) -> u64 {
        MARK | u64::from(round) << ROUND_SHIFT
            | u64::from(self.network) << NETWORK_SHIFT
            | (u64::from(self.endpoint) & ENDPOINT_MASK)
    }

    /// The owner of `cookie`, if it is the driver's.
    pub fn of_cookie(cookie: u64) -> Option<Owner> {
        (cookie & MARK_MASK == MARK).then_some(Owner {
            network: (cookie >> NETWORK_SHIFT) as u16,
            endpoint: (cookie & ENDPOINT_MASK) as u32,
        })
    }
}

/// The round `cookie` was written in.
pub fn round_of(cookie: u64) -> u16 {
    (cookie >> ROUND_SHIFT) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_and_rounds_round_trip_through_the_cookie() {
        let owner = Owner::endpoint(7, 65279);
        let cookie = owner.cookie(0xbeef);
        assert_eq!(cookie, 0xd0be_ef00_0700_feff);
        assert_eq!(Owner::of_cookie(cookie), Some(owner));
        assert_eq!(round_of(cookie), 0xbeef);
        assert_eq!(cookie & OWNER_MASK, owner.cookie(0) & OWNER_MASK);
        assert_eq!(Owner::PIPELINE.cookie(1), 0xd000_0100_0000_0000);
    }

    #[test]
    fn masks_select_a_round_a_port_or_a_network() {
        let flow = Owner::endpoint(7, 5).cookie(9);
        let selects = |(cookie, mask): (u64, u64)| flow & mask == cookie & mask;
        assert!(selects(of_round(9)) && !selects(of_round(8)));
        assert!(selects(of_port(5)) && !selects(of_port(6)));
        assert!(selects(of_network(7)) && !selects(of_network(1)));
        let network_own = Owner::network(7).cookie(9);
        assert_eq!(network_own & of_port(5).1, of_port(0).0);
    }

    #[test]
    fn learned_flows_are_told_apart_and_selected_by_their_peer() {
        let peer = std::net::Ipv4Addr::new(172, 31, 250, 12);
        let learned = Owner::learned(3, peer);
        assert!(learned.is_learned() && !Owner::endpoint(3, 65279).is_learned());
        let cookie = learned.cookie(0);
        assert_eq!(Owner::of_cookie(cookie), Some(learned));
        let (value, mask) = of_learned_from(peer);
        assert_eq!(cookie & mask, value);
        let other = of_learned_from(std::net::Ipv4Addr::new(172, 31, 250, 13));
        assert_ne!(cookie & other.1, other.0);
    }

    #[test]
    fn cookies_without_the_mark_are_foreign() {
        for foreign in [0, 1, 0xd100_0000_0000_0001, 0x00d0_0000_0000_0000] {
            assert_eq!(Owner::of_cookie(foreign), None, "{foreign:#x}");
        }
    }
}
