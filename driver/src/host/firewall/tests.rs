//! The rules a gateway wants, and which of iptables' are the driver's.

use super::*;

const LISTING: &str = r#"-P FORWARD DROP
-N DOCKER-USER
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -o dovngw000000001 -m conntrack --ctstate DNAT -m comment --comment "docker-ovn-gw:blue@lab-host1" -j ACCEPT
-A DOCKER-USER -i dovngw000000001 -m conntrack --ctstate DNAT -m comment --comment "docker-ovn-gw:blue@lab-host1" -j ACCEPT
-A DOCKER-USER -i dovngw000000001 -o dovngw+ -m comment --comment "docker-ovn-gw:blue@lab-host1" -j DROP
-A DOCKER-USER -i dovngw000000001 -m comment --comment "docker-ovn-gw:blue@lab-host1" -j ACCEPT
-A DOCKER-USER -o dovngw000000001 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "docker-ovn-gw:blue@lab-host1" -j ACCEPT
-A DOCKER-USER -i eth9 -m comment --comment "someone else" -j ACCEPT
-A DOCKER-USER -i dovngw000000002 -m comment --comment "docker-ovn-gw:blue2@lab-host1" -j ACCEPT
-A DOCKER-USER -i dovngw000000003 -m comment --comment "docker-ovn-gw:blue@lab-host2" -j ACCEPT
-A DOCKER-USER -j RETURN"#;
const NAT: &str = r#"-P POSTROUTING ACCEPT
-A PREROUTING -p tcp -m tcp --dport 18080 -m addrtype --dst-type LOCAL -m comment --comment "docker-ovn-port:ovn:e5c2@lab-host1" -j DNAT --to-destination 10.1.0.2:80
-A POSTROUTING -s 10.1.0.0/24 ! -o dovngw000000001 -m comment --comment "docker-ovn-gw:blue@lab-host1" -j MASQUERADE
-A POSTROUTING -s 10.1.0.0/24 -o dovngw000000001 -m conntrack --ctstate DNAT -m comment --comment "docker-ovn-gw:blue@lab-host1" -j MASQUERADE
-A POSTROUTING -s 127.0.0.0/8 -o dovngw000000001 -m comment --comment "docker-ovn-gw:blue@lab-host1" -j MASQUERADE
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"#;
const RAW: &str = r#"-P PREROUTING ACCEPT
-A PREROUTING -d 127.0.0.0/8 -i dovngw000000001 -m comment --comment "docker-ovn-gw:blue@lab-host1" -j DROP"#;

fn blue() -> GatewayRules<'static> {
    GatewayRules {
        switch: "blue",
        host: "lab-host1",
        interface: "dovngw000000001",
        subnet: "10.1.0.0/24".parse().unwrap(),
        routed_peers: None,
    }
}

fn rules() -> Vec<Rule> {
    let listing = Listing {
        filter: LISTING.into(),
        nat: NAT.into(),
        raw: RAW.into(),
    };
    assert!(listing.docker_user());
    listing.rules(COMMENT_PREFIX, "lab-host1")
}

#[test]
fn only_rules_with_our_comment_are_ours_by_exact_switch_and_host() {
    let rules = rules();
    let switches: Vec<&str> = rules.iter().map(|r| r.switch.as_str()).collect();
    assert_eq!(
        switches,
        [
            "blue", "blue", "blue", "blue", "blue", "blue2", "blue", "blue", "blue", "blue"
        ]
    );
    assert_eq!(rules[0].chain, "DOCKER-USER");
    assert_eq!(rules[9].table, "raw");
    assert_eq!(
        rules[3].spec,
        [
            "-i",
            "dovngw000000001",
            "-m",
            "comment",
            "--comment",
            "docker-ovn-gw:blue@lab-host1",
            "-j",
            "ACCEPT"
        ]
    );
}

#[test]
fn complete_means_every_wanted_rule_with_the_drop_before_the_accept() {
    let rules = rules();
    let blue_rules: Vec<&Rule> = rules.iter().filter(|r| r.switch == "blue").collect();
    assert!(blue().complete(&blue_rules));
    assert!(!blue().complete(&blue_rules[..3]));
    assert!(
        !blue().complete(&blue_rules[..blue_rules.len() - 1]),
        "without the raw drop"
    );
    let mut accept_first = blue_rules.clone();
    accept_first.swap(2, 3);
    assert!(!blue().complete(&accept_first), "the drop must come first");
    let moved = GatewayRules {
        interface: "dovngw00000000f",
        ..blue()
    };
    assert!(!moved.complete(&blue_rules));
    let resized = GatewayRules {
        subnet: "10.1.0.0/16".parse().unwrap(),
        ..blue()
    };
    assert!(!resized.complete(&blue_rules));
}

#[test]
fn published_connections_pass_before_the_drop_between_gateway_ports() {
    let filter: Vec<String> = blue()
        .wanted()
        .iter()
        .filter(|(table, _)| *table == "filter")
        .map(|(_, spec)| spec.join(" "))
        .collect();
    let tag = "-m comment --comment docker-ovn-gw:blue@lab-host1";
    assert_eq!(
        filter[..3],
        [
            format!("-o dovngw000000001 -m conntrack --ctstate DNAT {tag} -j ACCEPT"),
            format!("-i dovngw000000001 -m conntrack --ctstate DNAT {tag} -j ACCEPT"),
            format!("-i dovngw000000001 -o dovngw+ {tag} -j DROP"),
        ]
    );
    assert!(filter[3].ends_with("-j ACCEPT") && filter[3].starts_with("-i dovngw000000001 -m"));
}

#[test]
fn routed_peers_are_returned_before_the_masquerade_and_let_in_after_the_accepts() {
    let peers = ["10.230.2.0/26".parse().unwrap()];
    let routed = GatewayRules {
        routed_peers: Some(&peers),
        ..blue()
    };
    let wanted: Vec<String> = routed
        .wanted()
        .iter()
        .map(|(table, spec)| format!("{table} {}", spec.join(" ")))
        .collect();
    let tag = "-m comment --comment docker-ovn-gw:blue@lab-host1";
    assert_eq!(
        wanted[0],
        format!("nat -s 10.1.0.0/24 -d 10.230.2.0/26 {tag} -j RETURN")
    );
    assert!(wanted[1].ends_with("-j MASQUERADE"));
    assert!(wanted.last().unwrap().starts_with("raw -d 127.0.0.0/8"));
    assert_eq!(
        wanted[wanted.len() - 3],
        format!("filter -s 10.230.2.0/26 -o dovngw000000001 {tag} -j ACCEPT")
    );
    assert_eq!(
        wanted[wanted.len() - 2],
        format!("filter -o dovngw000000001 {tag} -j DROP"),
        "the rest going in is dropped last"
    );
    assert_eq!(wanted.len(), 12);
}

#[test]
fn host_names_are_made_safe_for_comments() {
    assert_eq!(comment("blue", "a b\"c"), "docker-ovn-gw:blue@a_b_c");
}

#[test]
fn wanted_rules_carry_the_comment_before_the_target() {
    let wanted = blue().wanted();
    let (table, nat) = &wanted[0];
    assert_eq!(*table, "nat");
    assert_eq!(
        nat.join(" "),
        "-s 10.1.0.0/24 ! -o dovngw000000001 -m comment --comment docker-ovn-gw:blue@lab-host1 -j MASQUERADE"
    );
}
