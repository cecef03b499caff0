//! Golden tests with `ovs-ofctl` as the oracle: for each of the flows the
//! driver's pipelines need, the crate's text form is the expected text,
//! `ovs-ofctl -O OpenFlow13 -mmmmm parse-flow` of that text encodes the
//! very bytes the crate encodes (the xid aside), and `ovs-ofctl ofp-print`
//! decodes the crate's bytes without complaint. Needs `ovs-ofctl`
//! (Debian: openvswitch-common); fails, naming the package, without it.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;

use flows::action::Bits;
use flows::flow::ALL_TABLES;
use flows::learn::{Learn, LearnSpec};
use flows::{Action, Field, Flow, FlowMod, Mac, Match, Port};

const XID: u32 = 0x1234_5678;

fn mac(text: &str) -> Mac {
    text.parse().expect("a MAC")
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().expect("an IPv4 address")
}

fn ip6(text: &str) -> Ipv6Addr {
    text.parse().expect("an IPv6 address")
}

fn ofctl(args: &[&str]) -> String {
    let binary = test_support::require_binary("ovs-ofctl");
    let output = Command::new(&binary)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "ovs-ofctl {args:?} failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// The bytes of the hex dump `ovs-ofctl -mmmmm` prints
/// (`00000000  04 0e 00 98 ...-... |ascii|`).
fn dumped_bytes(text: &str) -> Vec<u8> {
    text.lines()
        .filter(|line| line.len() > 10 && line[..8].chars().all(|c| c.is_ascii_hexdigit()))
        .flat_map(|line| {
            let hex = line[10..]
                .split('|')
                .next()
                .unwrap_or_default()
                .replace('-', " ");
            hex.split_whitespace()
                .map(|byte| u8::from_str_radix(byte, 16).expect("a hex byte"))
                .collect::<Vec<u8>>()
        })
        .collect()
}

/// What `ovs-ofctl` encodes for `text`, with its xid set to ours.
fn ofctl_encoding(text: &str) -> Vec<u8> {
    let mut bytes = dumped_bytes(&ofctl(&["-O", "OpenFlow13", "-mmmmm", "parse-flow", text]));
    assert!(bytes.len() >= 8, "no message for {text}");
    bytes[4..8].copy_from_slice(&XID.to_be_bytes());
    bytes
}

/// Decodes `bytes` with `ovs-ofctl ofp-print` and returns what it printed,
/// failing on any sign of a decoding problem.
fn ofp_print(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let printed = ofctl(&["ofp-print", &hex]);
    for bad in ["***", "error", "bad", "truncated"] {
        assert!(
            !printed.to_lowercase().contains(bad),
            "ofp-print of {hex}: {printed}"
        );
    }
    printed
}

fn check(flow: &Flow, expected_text: &str) {
    assert_eq!(flow.to_string(), expected_text);
    let ours = flow.add().encode(XID).expect("a valid flow");
    assert_eq!(
        ours,
        ofctl_encoding(expected_text),
        "the bytes of {expected_text}"
    );
    ofp_print(&ours);
    assert_eq!(
        flows::decode::decode_flow_mod(&ours),
        Ok((XID, flow.add())),
        "{expected_text} decodes back"
    );
}

fn arp_responder() -> Flow {
    let gateway = mac("0a:5a:0a:01:00:01");
    Flow::new(3, 200)
        .cookie(0x1_0000_0001)
        .matching(
            Match::new()
                .eth_type(0x0806)
                .arp_op(1)
                .arp_tpa(ip("10.1.0.1")),
        )
        .action(Action::Move {
            src: Bits::all(Field::EthSrc),
            dst: Bits::all(Field::EthDst),
        })
        .action(Action::set_eth_src(gateway))
        .action(Action::set_arp_op(2))
        .action(Action::Move {
            src: Bits::all(Field::ArpSha),
            dst: Bits::all(Field::ArpTha),
        })
        .action(Action::set_arp_sha(gateway))
        .action(Action::Move {
            src: Bits::all(Field::ArpSpa),
            dst: Bits::all(Field::ArpTpa),
        })
        .action(Action::set_arp_spa(ip("10.1.0.1")))
        .action(Action::Output(Port::InPort))
}

#[test]
fn the_arp_responder() {
    check(
        &arp_responder(),
        "cookie=0x100000001, table=3, priority=200,arp,arp_op=1,arp_tpa=10.1.0.1 \
         actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:0a:5a:0a:01:00:01->eth_src,\
         set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],\
         set_field:0a:5a:0a:01:00:01->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],\
         set_field:10.1.0.1->arp_spa,IN_PORT",
    );
}

#[test]
fn the_classifier_tags_a_port_s_network_in_a_register() {
    let flow = Flow::new(0, 100)
        .matching(Match::new().in_port(5))
        .action(Action::Load {
            dst: Bits::all(Field::Reg(6)),
            value: 0x2a,
        })
        .goto(1);
    check(
        &flow,
        "table=0, priority=100,in_port=5 actions=load:0x2a->NXM_NX_REG6[],goto_table:1",
    );
    let from_tunnel = Flow::new(0, 100)
        .matching(Match::new().in_port(2).tun_id(0x2a))
        .action(Action::Load {
            dst: Bits::all(Field::Reg(6)),
            value: 0x2a,
        })
        .goto(3);
    check(
        &from_tunnel,
        "table=0, priority=100,in_port=2,tun_id=0x2a actions=load:0x2a->NXM_NX_REG6[],goto_table:3",
    );
}

#[test]
fn spoof_guards_for_ipv4_arp_and_ipv6() {
    let port_mac = mac("0a:5a:0a:01:00:05");
    let ipv4 = Flow::new(1, 100)
        .matching(
            Match::new()
                .in_port(5)
                .eth_src(port_mac)
                .eth_type(0x0800)
                .ipv4_src(ip("10.1.0.5")),
        )
        .goto(3);
    check(
        &ipv4,
        "table=1, priority=100,ip,in_port=5,dl_src=0a:5a:0a:01:00:05,nw_src=10.1.0.5 actions=goto_table:3",
    );
    let arp = Flow::new(1, 100)
        .matching(
            Match::new()
                .in_port(5)
                .eth_type(0x0806)
                .arp_spa(ip("10.1.0.5"))
                .arp_sha(port_mac),
        )
        .goto(2);
    check(
        &arp,
        "table=1, priority=100,arp,in_port=5,arp_spa=10.1.0.5,arp_sha=0a:5a:0a:01:00:05 actions=goto_table:2",
    );
    let ipv6 = Flow::new(1, 100)
        .matching(
            Match::new()
                .in_port(5)
                .eth_src(port_mac)
                .eth_type(0x86dd)
                .ipv6_src(ip6("fd00:d0c::5")),
        )
        .goto(3);
    check(
        &ipv6,
        "table=1, priority=100,ipv6,in_port=5,dl_src=0a:5a:0a:01:00:05,ipv6_src=fd00:d0c::5 actions=goto_table:3",
    );
    let link_local = Flow::new(1, 90)
        .matching(
            Match::new()
                .in_port(5)
                .eth_type(0x86dd)
                .ipv6_src_net(ip6("fe80::"), 64),
        )
        .goto(3);
    check(
        &link_local,
        "table=1, priority=90,ipv6,in_port=5,ipv6_src=fe80::/64 actions=goto_table:3",
    );
    let drop_rest = Flow::new(1, 0);
    check(&drop_rest, "table=1, priority=0 actions=drop");
}

#[test]
fn neighbour_discovery_is_answered_and_guarded() {
    let solicitation = Flow::new(2, 200)
        .matching(
            Match::new()
                .eth_type(0x86dd)
                .ip_proto(58)
                .icmpv6_type(135)
                .nd_target(ip6("fd00:d0c::1")),
        )
        .action(Action::Resubmit { table: 10 });
    check(
        &solicitation,
        "table=2, priority=200,icmp6,icmp_type=135,nd_target=fd00:d0c::1 actions=resubmit(,10)",
    );
    let advertisement = Flow::new(1, 110)
        .matching(
            Match::new()
                .in_port(5)
                .eth_type(0x86dd)
                .ip_proto(58)
                .icmpv6_type(136)
                .nd_target(ip6("fd00:d0c::5")),
        )
        .goto(3);
    check(
        &advertisement,
        "table=1, priority=110,icmp6,in_port=5,icmp_type=136,nd_target=fd00:d0c::5 actions=goto_table:3",
    );
}

#[test]
fn vxlan_output_sets_the_tunnel_key_and_destination() {
    let flow = Flow::new(3, 100)
        .matching(Match::new().reg(6, 0x2a).eth_dst(mac("0a:5a:0a:01:00:09")))
        .action(Action::set_tun_id(0x2a))
        .action(Action::set_tun_ipv4_dst(ip("192.0.2.12")))
        .action(Action::Output(Port::Number(2)));
    check(
        &flow,
        "table=3, priority=100,dl_dst=0a:5a:0a:01:00:09,reg6=0x2a \
         actions=set_field:0x2a->tun_id,set_field:192.0.2.12->tun_dst,output:2",
    );
    let broadcast = Flow::new(3, 50)
        .matching(
            Match::new()
                .reg(6, 0x2a)
                .eth_dst_masked(mac("01:00:00:00:00:00"), mac("01:00:00:00:00:00")),
        )
        .action(Action::set_tun_id(0x2a))
        .action(Action::set_tun_ipv4_dst(ip("192.0.2.12")))
        .action(Action::Output(Port::Number(2)))
        .action(Action::set_tun_ipv4_dst(ip("192.0.2.13")))
        .action(Action::Output(Port::Number(2)))
        .action(Action::Resubmit { table: 4 });
    check(
        &broadcast,
        "table=3, priority=50,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,reg6=0x2a \
         actions=set_field:0x2a->tun_id,set_field:192.0.2.12->tun_dst,output:2,\
         set_field:192.0.2.13->tun_dst,output:2,resubmit(,4)",
    );
    let from_peer = Flow::new(0, 110)
        .matching(
            Match::new()
                .in_port(2)
                .tun_id(0x2a)
                .tun_ipv4_src(ip("192.0.2.12")),
        )
        .action(Action::Load {
            dst: Bits::all(Field::Reg(6)),
            value: 0x2a,
        })
        .goto(3);
    check(
        &from_peer,
        "table=0, priority=110,in_port=2,tun_id=0x2a,tun_src=192.0.2.12 \
         actions=load:0x2a->NXM_NX_REG6[],goto_table:3",
    );
}

#[test]
fn mac_learning_from_a_tunnel() {
    let learn = Learn::new(35, 100)
        .hard_timeout(300)
        .cookie(0xd000_0000_03ff_ffff)
        .spec(LearnSpec::match_same(Bits::all(Field::Reg(0))))
        .spec(LearnSpec::Match {
            src: Bits::all(Field::EthSrc),
            dst: Bits::all(Field::EthDst),
        })
        .spec(LearnSpec::Load {
            src: Bits::all(Field::TunIpv4Src),
            dst: Bits::all(Field::TunIpv4Dst),
        })
        .spec(LearnSpec::Load {
            src: Bits::all(Field::TunId),
            dst: Bits::all(Field::TunId),
        })
        .spec(LearnSpec::Output(Bits::all(Field::InPort)));
    let flow = Flow::new(0, 100)
        .matching(Match::new().in_port(5).tun_id(0x2a))
        .action(Action::Load {
            dst: Bits::all(Field::Reg(0)),
            value: 3,
        })
        .action(Action::Learn(learn))
        .goto(20);
    check(
        &flow,
        "table=0, priority=100,in_port=5,tun_id=0x2a actions=load:0x3->NXM_NX_REG0[],\
         learn(table=35,hard_timeout=300,priority=100,cookie=0xd000000003ffffff,NXM_NX_REG0[],\
         NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:NXM_NX_TUN_IPV4_SRC[]->NXM_NX_TUN_IPV4_DST[],\
         load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:NXM_OF_IN_PORT[]),goto_table:20",
    );
    let idle = Learn::new(1, 0x8000)
        .idle_timeout(10)
        .spec(LearnSpec::Match {
            src: Bits::range(Field::Reg(1), 0, 15),
            dst: Bits::range(Field::Reg(2), 16, 31),
        });
    check(
        &Flow::new(0, 1).action(Action::Learn(idle)),
        "table=0, priority=1 actions=learn(table=1,idle_timeout=10,\
         NXM_NX_REG2[16..31]=NXM_NX_REG1[0..15])",
    );
}

#[test]
fn vlan_push_and_pop_on_an_uplink() {
    let push = Flow::new(4, 100)
        .matching(Match::new().reg(6, 0x2a).reg(1, 1))
        .action(Action::PushVlan(0x8100))
        .action(Action::set_vlan_vid(10))
        .action(Action::Output(Port::Number(1)));
    check(
        &push,
        "table=4, priority=100,reg1=0x1,reg6=0x2a \
         actions=push_vlan:0x8100,set_field:4106->vlan_vid,output:1",
    );
    let pop = Flow::new(0, 100)
        .matching(Match::new().in_port(1).vlan(10))
        .action(Action::PopVlan)
        .action(Action::Load {
            dst: Bits::all(Field::Reg(6)),
            value: 0x2a,
        })
        .goto(3);
    check(
        &pop,
        "table=0, priority=100,in_port=1,dl_vlan=10 actions=pop_vlan,load:0x2a->NXM_NX_REG6[],goto_table:3",
    );
}

#[test]
fn register_loads_moves_and_output_through_a_register() {
    let forward = Flow::new(3, 100)
        .matching(Match::new().reg(6, 0x2a).eth_dst(mac("0a:5a:0a:01:00:05")))
        .action(Action::Load {
            dst: Bits::range(Field::Reg(1), 0, 15),
            value: 5,
        })
        .action(Action::Resubmit { table: 4 });
    check(
        &forward,
        "table=3, priority=100,dl_dst=0a:5a:0a:01:00:05,reg6=0x2a \
         actions=load:0x5->NXM_NX_REG1[0..15],resubmit(,4)",
    );
    let output = Flow::new(4, 100).action(Action::OutputReg(Bits::all(Field::Reg(1))));
    check(
        &output,
        "table=4, priority=100 actions=output:NXM_NX_REG1[]",
    );
    let copy = Flow::new(2, 10)
        .matching(Match::new().reg_masked(7, 0x100, 0xff00))
        .action(Action::Move {
            src: Bits::all(Field::Reg(6)),
            dst: Bits::all(Field::Reg(7)),
        })
        .action(Action::Move {
            src: Bits::range(Field::Reg(6), 0, 7),
            dst: Bits::range(Field::Reg(8), 8, 15),
        })
        .action(Action::Load {
            dst: Bits::range(Field::Reg(9), 3, 3),
            value: 1,
        });
    check(
        &copy,
        "table=2, priority=10,reg7=0x100/0xff00 actions=move:NXM_NX_REG6[]->NXM_NX_REG7[],\
         move:NXM_NX_REG6[0..7]->NXM_NX_REG8[8..15],load:0x1->NXM_NX_REG9[3]",
    );
}

#[test]
fn masked_ipv4_and_layer_three_forwarding() {
    let subnet = Flow::new(5, 100)
        .matching(
            Match::new()
                .eth_type(0x0800)
                .ipv4_src_net(ip("10.1.0.0"), 16)
                .ipv4_dst_net(ip("10.2.0.0"), 24),
        )
        .action(Action::set_eth_src(mac("0a:5a:0a:02:00:01")))
        .action(Action::set_eth_dst(mac("0a:5a:0a:02:00:07")))
        .action(Action::Output(Port::Number(7)));
    check(
        &subnet,
        "table=5, priority=100,ip,nw_src=10.1.0.0/16,nw_dst=10.2.0.0/24 \
         actions=set_field:0a:5a:0a:02:00:01->eth_src,set_field:0a:5a:0a:02:00:07->eth_dst,output:7",
    );
    let odd_mask = Flow::new(5, 90)
        .matching(
            Match::new()
                .eth_type(0x0800)
                .ip_proto(17)
                .ipv4_dst(ip("10.2.0.7")),
        )
        .action(Action::Output(Port::Local));
    check(
        &odd_mask,
        "table=5, priority=90,udp,nw_dst=10.2.0.7 actions=LOCAL",
    );
    let tcp = Flow::new(5, 80)
        .matching(Match::new().eth_type(0x0800).ip_proto(6))
        .action(Action::Output(Port::Number(3)));
    check(&tcp, "table=5, priority=80,tcp actions=output:3");
    let other = Flow::new(5, 70)
        .matching(Match::new().eth_type(0x0800).ip_proto(47))
        .action(Action::Output(Port::Number(3)));
    check(
        &other,
        "table=5, priority=70,ip,nw_proto=47 actions=output:3",
    );
}

#[test]
fn timeouts_cookies_and_other_ethernet_types() {
    let flow = Flow::new(6, 10)
        .cookie(0xffff_0000_0000_0042)
        .idle_timeout(60)
        .hard_timeout(300)
        .matching(
            Match::new()
                .eth_type(0x88cc)
                .eth_src(mac("0a:00:00:00:00:01")),
        )
        .action(Action::Output(Port::Number(9)));
    check(
        &flow,
        "cookie=0xffff000000000042, table=6, idle_timeout=60, hard_timeout=300, \
         priority=10,dl_src=0a:00:00:00:00:01,dl_type=0x88cc actions=output:9",
    );
    let arp_target = Flow::new(2, 150)
        .matching(
            Match::new()
                .eth_type(0x0806)
                .arp_op(2)
                .arp_tha(mac("0a:5a:0a:01:00:05")),
        )
        .action(Action::Output(Port::Number(5)));
    let uplink_arp = Flow::new(0, 100)
        .matching(
            Match::new()
                .in_port(1)
                .eth_type(0x0806)
                .arp_op(1)
                .arp_spa(ip("10.1.0.9"))
                .arp_tpa(ip("10.1.0.1")),
        )
        .action(Action::Resubmit { table: 3 });
    check(
        &uplink_arp,
        "table=0, priority=100,arp,in_port=1,arp_op=1,arp_spa=10.1.0.9,arp_tpa=10.1.0.1 \
         actions=resubmit(,3)",
    );
    check(
        &arp_target,
        "table=2, priority=150,arp,arp_op=2,arp_tha=0a:5a:0a:01:00:05 actions=output:5",
    );
}

#[test]
fn every_flow_mod_command_decodes_with_ofp_print() {
    let flow = arp_responder();
    for command in [
        flows::Command::Add,
        flows::Command::Modify,
        flows::Command::ModifyStrict,
        flows::Command::Delete,
        flows::Command::DeleteStrict,
    ] {
        let message = FlowMod::new(command, flow.clone())
            .encode(XID)
            .expect("valid");
        let printed = ofp_print(&message);
        assert!(printed.contains("OFPT_FLOW_MOD"), "{command:?}: {printed}");
    }
    let round = FlowMod::delete_by_cookie(0x1_0000_0000, 0xffff_ffff_0000_0000)
        .encode(XID)
        .expect("valid");
    let printed = ofp_print(&round);
    assert!(
        printed.contains(&format!("DEL table:{ALL_TABLES} ")),
        "{printed}"
    );
    assert!(
        printed.contains("cookie:0x100000000/0xffffffff00000000"),
        "{printed}"
    );
}

#[test]
fn every_other_message_the_crate_sends_decodes_with_ofp_print() {
    use flows::message::{self, BundleControl, OFPBF_ATOMIC, OFPBF_ORDERED};
    const OF13: u8 = 4;
    const OF14: u8 = 5;
    let flags = OFPBF_ATOMIC | OFPBF_ORDERED;
    let inner = arp_responder().add().encode(XID).expect("a flow");
    let messages = [
        ("OFPT_HELLO", message::hello(XID)),
        (
            "OFPT_ECHO_REQUEST",
            message::echo(message::OFPT_ECHO_REQUEST, XID, b"ping"),
        ),
        (
            "OFPT_ECHO_REPLY",
            message::echo(message::OFPT_ECHO_REPLY, XID, b"ping"),
        ),
        ("OFPT_BARRIER_REQUEST", message::barrier_request(XID)),
        (
            "OPEN_REQUEST",
            message::bundle_control(OF13, XID, 7, BundleControl::Open, flags),
        ),
        (
            "COMMIT_REQUEST",
            message::bundle_control(OF13, XID, 7, BundleControl::Commit, flags),
        ),
        (
            "DISCARD_REQUEST",
            message::bundle_control(OF14, XID, 7, BundleControl::Discard, flags),
        ),
        (
            "BUNDLE_ADD_MESSAGE",
            message::bundle_add(OF13, XID, 7, flags, &inner),
        ),
        (
            "OFPT_BUNDLE_ADD_MESSAGE (OF1.4)",
            message::bundle_add(OF14, XID, 7, flags, &inner),
        ),
        (
            "OFPT_BUNDLE_CONTROL (OF1.4)",
            message::bundle_control(OF14, XID, 7, BundleControl::Open, flags),
        ),
        (
            "OFPST_FLOW request",
            message::flow_stats_request(XID, 0x1_0000_0000, 0xffff_ffff_0000_0000),
        ),
        (
            "OFPST_AGGREGATE request",
            message::aggregate_stats_request(XID, 0x1_0000_0000, 0xffff_ffff_0000_0000),
        ),
    ];
    for (name, message) in messages {
        let printed = ofp_print(&message.expect("encoded"));
        assert!(printed.contains(name), "{name}: {printed}");
        assert!(printed.contains("xid=0x12345678"), "{name}: {printed}");
    }
}

#[test]
fn a_metered_flow_and_its_meter() {
    let flow = Flow::new(0, 100)
        .cookie(0x5)
        .matching(Match::new().in_port(5))
        .meter(10)
        .goto(10);
    check(
        &flow,
        "cookie=0x5, table=0, priority=100,in_port=5 actions=meter:10,goto_table:10",
    );
    let meter = flows::meter::Meter {
        id: 10,
        kbps: 20_000,
        burst_kb: 5_000,
    };
    let add = flows::meter::MeterMod {
        command: flows::meter::MeterCommand::Add,
        meter,
    };
    let printed = ofp_print(&add.encode(XID).expect("a meter"));
    assert!(
        printed.contains("METER_MOD")
            && printed.contains("ADD meter=10 kbps burst bands=")
            && printed.contains("type=drop rate=20000 burst_size=5000"),
        "{printed}"
    );
}
