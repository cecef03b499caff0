//! What `up` and `provision` print at the end: where things are and what
//! to type next.

use super::env::{HostEnv, LabEnv};
use super::lifecycle::Parts;

/// Prints the summary; `parts` says which optional parts were started.
pub fn print(env: &LabEnv, parts: &Parts) {
    println!();
    println!("The lab is up in {}.", env.dir.display());
    println!(
        "  environment: {} (KEY=VALUE; `set -a; . {0}; set +a`)",
        env.env_file().display()
    );
    if let Some(central) = &env.central {
        println!("  central:     {}/*.log", central.dir.display());
        if let Some(ip) = central.listen_ip {
            println!("               NB tcp:{ip}:6641, SB tcp:{ip}:6642");
        }
    }
    for host in &env.hosts {
        print_host(host, parts.driver.is_some());
    }
    if let Some(underlay) = &env.underlay {
        println!(
            "  underlay:    bridge {} in namespace {} ({})",
            underlay.bridge, underlay.netns, underlay.subnet
        );
        println!(
            "  switch:      physical switch br-vlan (Open vSwitch, {}) in {}: trunks dovn-trkK \
             from each host, the underlay (each br-phy, mapped as physnet1), outside hosts \
             dovn-flat (untagged, 10.251.0.254), dovn-vlan100/200 (10.250.0.254) and \
             dovn-vlan300 (10.253.0.254)",
            underlay.switch.ovsdb.remote(),
            underlay.netns
        );
    }
    if let Some(vm) = super::nested_vm::vm_of(env).filter(|vm| vm.dir.exists()) {
        println!(
            "  {}:         a VM in namespace {}, NIC = logical port {} on host1's br-int, bridge \
             {}, driver {} (--nested-parent)",
            vm.name,
            vm.netns.as_deref().unwrap_or_default(),
            vm.name,
            vm.bridge,
            vm.driver.socket.display()
        );
    }
    if parts.docker && env.has_docker_host() {
        println!(
            "  docker:      {}/*.log (when the lab started Docker)",
            env.docker.dir.display()
        );
    }
    print_try(env, parts);
}

fn print_host(host: &HostEnv, driver: bool) {
    let place = host
        .netns
        .as_deref()
        .map_or("this namespace".to_string(), |ns| format!("namespace {ns}"));
    match host.has_ovn() {
        true => println!(
            "  {}:       chassis {}, {place}, encap {}",
            host.name, host.system_id, host.encap_ip
        ),
        false => println!(
            "  {}:       {}, {place}, Open vSwitch without OVN",
            host.name, host.system_id
        ),
    }
    if let Some(cidr) = host.host_cidr {
        println!(
            "               -d ovs: tunnel {}, host CIDR {cidr}, docker-ovn-peers {}",
            host.encap_ip,
            host.peers.join(",")
        );
    }
    println!(
        "               {}/*.log {}/*.log",
        host.ovs_rundir.display(),
        host.ovn_rundir.display()
    );
    if driver {
        println!(
            "               driver {} on {} and {}",
            host.driver.log.display(),
            host.driver.socket.display(),
            host.driver.ovs_socket.display()
        );
    }
}

fn print_try(env: &LabEnv, parts: &Parts) {
    println!("Try:");
    if let Some(host) = env.first_host().filter(|h| !h.has_ovn()) {
        println!("  ovs-vsctl --db={} show", host.ovsdb.remote());
        println!(
            "  ovs-ofctl -O OpenFlow13 --names dump-flows unix:{}",
            host.ovs_rundir.join("br-docker.mgmt").display()
        );
        println!("  docker network create -d ovs --subnet 10.91.0.0/24 mynet");
        if env.hosts.len() > 1 {
            println!(
                "  docker network create -d ovs -o ovs.network=shared \\\n      \
                 --subnet 10.93.0.0/16 --ip-range 10.93.1.0/24 shared   # host K: 10.93.K.0/24"
            );
        }
    } else if let Some(host) = env.first_host() {
        println!("  ovs-vsctl --db={} show", host.ovsdb.remote());
        println!("  ovn-nbctl --db={} show", host.nb_remote);
        println!("  ovn-sbctl --db={} show", host.sb_remote);
        if let Some(ctl) = &host.vswitchd.ctl {
            println!("  ovs-appctl -t {} dpif/show", ctl.display());
        }
        println!(
            "  OVN_RUNDIR={} ovn-appctl -t ovn-controller connection-status",
            host.ovn_rundir.display()
        );
        println!(
            "  ovs-ofctl -O OpenFlow15 dump-flows unix:{}",
            host.bridge_mgmt().display()
        );
    } else if let Some(central) = &env.central {
        println!("  ovn-nbctl --db={} show", central.nb.remote());
        println!("  ovn-sbctl --db={} show", central.sb.remote());
    }
    let ovn = env.first_host().is_some_and(|h| h.has_ovn());
    if ovn && parts.docker && parts.driver.is_some() && env.has_docker_host() {
        println!("  docker network create -d ovn --subnet 10.91.0.0/24 mynet");
        println!("  docker network create -d ovs --subnet 10.92.0.0/24 mynet2");
    }
    if let Some(host) = env.hosts.get(1) {
        println!(
            "  ip netns exec {} ...                         # inside {}",
            host.netns.as_deref().unwrap_or_default(),
            host.name
        );
    }
    println!("  docker-ovn-lab down --dir {}", env.dir.display());
}
