//! The decoder against the encoder, with generated flows, and against
//! damaged bytes.
//!
//! - `flow_mods_round_trip`: any valid flow (a random table, priority,
//!   cookie and timeouts, a random subset of match fields with their
//!   prerequisites, random actions with valid bits and values, a forward
//!   `goto_table`) decodes back from its FLOW_MOD for every command, and
//!   from a flow statistics entry carrying the same match and
//!   instructions.
//! - `every_truncation_decodes_or_fails`: each such message cut at every
//!   offset, its length field following the cut, returns `Ok` or `Err`.
//! - `fuzz`: such messages and statistics bodies with bytes flipped,
//!   16-bit words (lengths among them) overwritten, cuts and garbage
//!   appended, fed to every decoder: none may panic. The case count is
//!   the environment's `FUZZ_CASES` (default 4096), for a long run:
//!   `FUZZ_CASES=1000000 cargo test --release -p flows --test roundtrip fuzz`.
//!
//! Failures are not persisted (no regression files in the tree): a failing
//! case is printed, shrunk, and can be pasted into a unit test.

use std::net::{Ipv4Addr, Ipv6Addr};

use flows::action::Bits;
use flows::decode::{
    FlowCounters, decode_actions, decode_flow_mod, decode_flow_stats, decode_header,
    decode_instructions, decode_match,
};
use flows::field::FIELDS;
use flows::{Action, Command, Field, Flow, FlowMod, Mac, Match, Port};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;

/// Where the match starts in a FLOW_MOD: header 8, body 40.
const MATCH_AT: usize = 48;

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![select(FIELDS.to_vec()), (0u8..=15).prop_map(Field::Reg)]
}

fn mac() -> impl Strategy<Value = Mac> {
    any::<[u8; 6]>().prop_map(Mac::new)
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

/// What sits on top of Ethernet, with the fields that need it.
#[derive(Debug, Clone)]
enum Layer3 {
    None,
    /// An Ethernet type without dependent fields (LLDP, IPv4 alone, ...).
    Other(u16),
    Ipv4 {
        src: Option<(Ipv4Addr, Option<u8>)>,
        dst: Option<(Ipv4Addr, Option<u8>)>,
        proto: Option<u8>,
    },
    Ipv6 {
        src: Option<(Ipv6Addr, Option<u8>)>,
        dst: Option<Ipv6Addr>,
        proto: Option<u8>,
        /// ICMPv6 (ip_proto 58 set) of this type, and a target when the
        /// type is a neighbour solicitation or advertisement.
        icmp: Option<(u8, Option<Ipv6Addr>)>,
    },
    Arp {
        op: Option<u16>,
        spa: Option<Ipv4Addr>,
        tpa: Option<Ipv4Addr>,
        sha: Option<Mac>,
        tha: Option<Mac>,
    },
}

fn layer3() -> BoxedStrategy<Layer3> {
    let net4 = || option::of((ipv4(), option::of(0u8..=32)));
    let icmp_type = prop_oneof![Just(135u8), Just(136u8), any::<u8>()];
    prop_oneof![
        Just(Layer3::None),
        any::<u16>().prop_map(Layer3::Other),
        (net4(), net4(), option::of(any::<u8>())).prop_map(|(src, dst, proto)| Layer3::Ipv4 {
            src,
            dst,
            proto
        }),
        (
            option::of((ipv6(), option::of(0u8..=128))),
            option::of(ipv6()),
            option::of(any::<u8>()),
            option::of((icmp_type, option::of(ipv6()))),
        )
            .prop_map(|(src, dst, proto, icmp)| Layer3::Ipv6 {
                src,
                dst,
                proto,
                icmp
            }),
        (
            option::of(any::<u16>()),
            option::of(ipv4()),
            option::of(ipv4()),
            option::of(mac()),
            option::of(mac()),
        )
            .prop_map(|(op, spa, tpa, sha, tha)| Layer3::Arp {
                op,
                spa,
                tpa,
                sha,
                tha
            }),
    ]
    .boxed()
}

/// `m` with `value` set by `set` when there is one.
fn maybe<T>(m: Match, value: Option<T>, set: impl FnOnce(Match, T) -> Match) -> Match {
    match value {
        Some(value) => set(m, value),
        None => m,
    }
}

fn with_ipv4(
    m: Match,
    src: Option<(Ipv4Addr, Option<u8>)>,
    dst: Option<(Ipv4Addr, Option<u8>)>,
) -> Match {
    let m = maybe(m, src, |m, (a, p)| match p {
        Some(p) => m.ipv4_src_net(a, p),
        None => m.ipv4_src(a),
    });
    maybe(m, dst, |m, (a, p)| match p {
        Some(p) => m.ipv4_dst_net(a, p),
        None => m.ipv4_dst(a),
    })
}

impl Layer3 {
    fn apply(self, m: Match) -> Match {
        match self {
            Layer3::None => m,
            Layer3::Other(eth_type) => m.eth_type(eth_type),
            Layer3::Ipv4 { src, dst, proto } => {
                let m = with_ipv4(m.eth_type(0x0800), src, dst);
                maybe(m, proto, Match::ip_proto)
            }
            Layer3::Ipv6 {
                src,
                dst,
                proto,
                icmp,
            } => {
                let m = maybe(m.eth_type(0x86dd), src, |m, (a, p)| match p {
                    Some(p) => m.ipv6_src_net(a, p),
                    None => m.ipv6_src(a),
                });
                let m = maybe(maybe(m, dst, Match::ipv6_dst), proto, Match::ip_proto);
                maybe(m, icmp, |m, (kind, target)| {
                    let m = m.ip_proto(58).icmpv6_type(kind);
                    match (kind, target) {
                        (135 | 136, Some(target)) => m.nd_target(target),
                        _ => m,
                    }
                })
            }
            Layer3::Arp {
                op,
                spa,
                tpa,
                sha,
                tha,
            } => {
                let m = maybe(m.eth_type(0x0806), op, Match::arp_op);
                let m = maybe(maybe(m, spa, Match::arp_spa), tpa, Match::arp_tpa);
                maybe(maybe(m, sha, Match::arp_sha), tha, Match::arp_tha)
            }
        }
    }
}

/// The fields that need no prerequisite: ports, Ethernet, VLAN, tunnel,
/// registers (some masked).
fn layer2() -> BoxedStrategy<Match> {
    (
        option::of(any::<u32>()),
        option::of(mac()),
        option::of((mac(), option::of(mac()))),
        option::of(0u16..4096),
        option::of(any::<u64>()),
        option::of(ipv4()),
        option::of(ipv4()),
        vec((0u8..=15, any::<u32>(), option::of(any::<u32>())), 0..4),
    )
        .prop_map(
            |(in_port, src, dst, vlan, tun_id, tun_src, tun_dst, regs)| {
                let m = maybe(Match::new(), in_port, Match::in_port);
                let m = maybe(m, src, Match::eth_src);
                let m = maybe(m, dst, |m, (mac, mask)| match mask {
                    Some(mask) => m.eth_dst_masked(mac, mask),
                    None => m.eth_dst(mac),
                });
                let m = maybe(maybe(m, vlan, Match::vlan), tun_id, Match::tun_id);
                let m = maybe(
                    maybe(m, tun_src, Match::tun_ipv4_src),
                    tun_dst,
                    Match::tun_ipv4_dst,
                );
                regs.into_iter().fold(m, |m, (n, value, mask)| match mask {
                    Some(mask) => m.reg_masked(n, value, mask),
                    None => m.reg(n, value),
                })
            },
        )
        .boxed()
}

fn matches() -> BoxedStrategy<Match> {
    (layer2(), layer3()).prop_map(|(m, l3)| l3.apply(m)).boxed()
}

/// Bits of a field at most `widest` wide (load and output_reg carry the
/// width in six bits: 64 at most).
fn bits(widest: u16) -> impl Strategy<Value = Bits> {
    field().prop_flat_map(move |field| {
        let width = field.bits();
        (0..width).prop_flat_map(move |start| {
            let end = (start + widest).min(width);
            (start..end).prop_map(move |end| Bits::range(field, start, end))
        })
    })
}

fn load() -> impl Strategy<Value = Action> {
    (bits(64), any::<u64>()).prop_map(|(dst, value)| {
        let value = match dst.width() {
            64.. => value,
            width => value & ((1 << width) - 1),
        };
        Action::Load { dst, value }
    })
}

/// A move between two fields, of a width both have.
fn copy() -> impl Strategy<Value = Action> {
    (field(), field()).prop_flat_map(|(src, dst)| {
        let widest = src.bits().min(dst.bits());
        (1..=widest).prop_flat_map(move |width| {
            (0..=src.bits() - width, 0..=dst.bits() - width).prop_map(move |(from, to)| {
                Action::Move {
                    src: Bits::range(src, from, from + width - 1),
                    dst: Bits::range(dst, to, to + width - 1),
                }
            })
        })
    })
}

fn set_field() -> impl Strategy<Value = Action> {
    field().prop_flat_map(|field| {
        vec(any::<u8>(), field.bytes()).prop_map(move |value| Action::SetField { field, value })
    })
}

fn action() -> BoxedStrategy<Action> {
    // Numbers from 0xffffff00 up are reserved ports (IN_PORT and LOCAL
    // have their own variants).
    let port = prop_oneof![
        (0..0xffff_ff00u32).prop_map(Port::Number),
        Just(Port::InPort),
        Just(Port::Local),
    ];
    prop_oneof![
        port.prop_map(Action::Output),
        bits(64).prop_map(Action::OutputReg),
        set_field(),
        any::<u16>().prop_map(Action::PushVlan),
        Just(Action::PopVlan),
        any::<u8>().prop_map(|table| Action::Resubmit { table }),
        load(),
        copy(),
    ]
    .boxed()
}

fn flow() -> BoxedStrategy<Flow> {
    (0u8..=254)
        .prop_flat_map(|table| {
            (
                any::<(u16, u64, u16, u16)>(),
                matches(),
                vec(action(), 0..8),
                option::of((table + 1)..=255),
                option::of(1u32..=0xffff_0000),
            )
                .prop_map(
                    move |((priority, cookie, idle, hard), matches, actions, goto, meter)| Flow {
                        table,
                        priority,
                        cookie,
                        idle_timeout: idle,
                        hard_timeout: hard,
                        matches,
                        actions,
                        goto_table: goto,
                        meter,
                    },
                )
        })
        .boxed()
}

fn command() -> impl Strategy<Value = Command> {
    select(vec![
        Command::Add,
        Command::Modify,
        Command::ModifyStrict,
        Command::Delete,
        Command::DeleteStrict,
    ])
}

fn flow_mod() -> BoxedStrategy<FlowMod> {
    (command(), flow(), any::<u64>())
        .prop_map(|(command, flow, cookie_mask)| FlowMod {
            command,
            flow,
            cookie_mask,
        })
        .boxed()
}

/// An `ofp_flow_stats` entry for `flow`, its match and instructions taken
/// from the flow's own FLOW_MOD.
fn stats_entry(flow: &Flow, counters: FlowCounters) -> Vec<u8> {
    let message = flow.add().encode(0).expect("a valid flow");
    let tail = &message[MATCH_AT..];
    let mut entry = Vec::with_capacity(48 + tail.len());
    entry.extend_from_slice(&((48 + tail.len()) as u16).to_be_bytes());
    entry.extend_from_slice(&[flow.table, 0]);
    entry.extend_from_slice(&counters.duration_sec.to_be_bytes());
    entry.extend_from_slice(&123_456u32.to_be_bytes()); // duration_nsec
    for half in [flow.priority, flow.idle_timeout, flow.hard_timeout, 0] {
        entry.extend_from_slice(&half.to_be_bytes());
    }
    entry.extend_from_slice(&[0; 4]);
    for word in [flow.cookie, counters.packets, counters.bytes] {
        entry.extend_from_slice(&word.to_be_bytes());
    }
    entry.extend_from_slice(tail);
    entry
}

fn counters() -> impl Strategy<Value = FlowCounters> {
    any::<(u64, u64, u32)>().prop_map(|(packets, bytes, duration_sec)| FlowCounters {
        packets,
        bytes,
        duration_sec,
    })
}

/// Proptest's defaults, without regression files written into the tree.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(Config::default().cases))]

    #[test]
    fn flow_mods_round_trip(fm in flow_mod(), xid in any::<u32>(), count in counters()) {
        let message = fm.encode(xid).expect("a valid flow");
        let mut expected = fm.clone();
        if matches!(fm.command, Command::Delete | Command::DeleteStrict) {
            // Deletes carry no instructions.
            expected.flow.actions.clear();
            expected.flow.goto_table = None;
            expected.flow.meter = None;
        }
        prop_assert_eq!(decode_flow_mod(&message), Ok((xid, expected)));
        let body = [stats_entry(&fm.flow, count), stats_entry(&fm.flow, count)].concat();
        let entry = (fm.flow.clone(), count);
        prop_assert_eq!(decode_flow_stats(&body), Ok(vec![entry.clone(), entry]));
    }

    #[test]
    fn every_truncation_decodes_or_fails(flow in flow()) {
        let message = flow.add().encode(1).expect("a valid flow");
        let body = stats_entry(&flow, FlowCounters::default());
        for end in 0..message.len() {
            // The length follows the cut, so the cut reaches the parts.
            let mut cut = message[..end].to_vec();
            if let Some(length) = cut.get_mut(2..4) {
                length.copy_from_slice(&(end as u16).to_be_bytes());
            }
            let _ = decode_flow_mod(&cut);
            prop_assert!(decode_flow_mod(&message[..end]).is_err());
        }
        for end in 1..body.len() {
            prop_assert!(decode_flow_stats(&body[..end]).is_err());
        }
    }
}

/// One way of damaging bytes.
#[derive(Debug, Clone)]
enum Damage {
    Flip(Index, u8),
    /// A 16-bit word overwritten: lengths, types, ports, with small
    /// values (the lengths that matter) as likely as any.
    Word(Index, u16),
    Cut(Index),
    Append(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    let word = prop_oneof![0u16..80, any::<u16>()];
    prop_oneof![
        3 => (any::<Index>(), 1u8..=255).prop_map(|(at, xor)| Damage::Flip(at, xor)),
        3 => (any::<Index>(), word).prop_map(|(at, value)| Damage::Word(at, value)),
        1 => any::<Index>().prop_map(Damage::Cut),
        1 => vec(any::<u8>(), 1..24).prop_map(Damage::Append),
    ]
}

fn apply(bytes: &mut Vec<u8>, damage: &Damage) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match damage {
        Damage::Flip(at, xor) => bytes[at.index(len)] ^= xor,
        Damage::Word(at, value) => {
            let at = at.index(bytes.len());
            let end = (at + 2).min(bytes.len());
            bytes[at..end].copy_from_slice(&value.to_be_bytes()[..end - at]);
        }
        Damage::Cut(at) => bytes.truncate(at.index(bytes.len())),
        Damage::Append(extra) => bytes.extend_from_slice(extra),
    }
}

/// Every decoder on `bytes` and its tails: each returns, whatever it returns.
fn decode_everything(bytes: &[u8]) {
    let _ = decode_header(bytes);
    let _ = decode_flow_mod(bytes);
    let _ = decode_flow_stats(bytes);
    let tail = |at: usize| bytes.get(at..).unwrap_or_default();
    let _ = decode_match(tail(MATCH_AT));
    let _ = decode_flow_stats(tail(16));
    for at in (MATCH_AT..bytes.len()).step_by(8) {
        let _ = decode_instructions(tail(at));
        let _ = decode_actions(tail(at));
    }
}

fn fuzz_cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(4096)
}

proptest! {
    #![proptest_config(config(fuzz_cases()))]

    /// No decoder panics on damaged messages or statistics bodies.
    /// `FUZZ_CASES` cases (default 4096); a long run:
    /// `FUZZ_CASES=1000000 cargo test --release -p flows --test roundtrip fuzz`.
    #[test]
    fn fuzz(
        fm in flow_mod(),
        second in flow(),
        as_stats in any::<bool>(),
        damages in vec(damage(), 1..6),
    ) {
        let mut bytes = match as_stats {
            false => fm.encode(7).expect("a valid flow"),
            true => [
                stats_entry(&fm.flow, FlowCounters::default()),
                stats_entry(&second, FlowCounters::default()),
            ]
            .concat(),
        };
        for damage in &damages {
            apply(&mut bytes, damage);
        }
        decode_everything(&bytes);
    }
}

#[test]
fn the_damage_reaches_deep_enough_to_be_refused_for_many_reasons() {
    // A guard on the fuzzer itself: damaged messages fail in many
    // different ways, not all at the header.
    let flow = Flow::new(1, 5)
        .matching(
            Match::new()
                .eth_type(0x0800)
                .ipv4_src_net(Ipv4Addr::new(10, 0, 0, 0), 8),
        )
        .action(Action::Load {
            dst: Bits::range(Field::Reg(3), 0, 7),
            value: 9,
        })
        .action(Action::Output(Port::Number(3)))
        .goto(2);
    let message = flow.add().encode(1).expect("valid");
    let mut reasons = std::collections::BTreeSet::new();
    for at in 0..message.len() {
        for xor in [0x01, 0x10, 0x80, 0xff] {
            let mut bytes = message.clone();
            bytes[at] ^= xor;
            if let Err(error) = decode_flow_mod(&bytes) {
                let variant = format!("{error:?}");
                reasons.insert(
                    variant
                        .split([' ', '(', '{'])
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    }
    assert!(reasons.len() >= 8, "{reasons:?}");
}
