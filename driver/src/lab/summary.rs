//! What `lab up` prints at the end: where things are and what to type next.

use super::env::LabEnv;

/// Prints the summary; `docker` and `driver` say which parts were started.
pub fn print(env: &LabEnv, docker: bool, driver: bool) {
    let host = env.host();
    println!();
    println!("The lab is up in {}.", env.dir.display());
    println!(
        "  environment: {} (KEY=VALUE; `set -a; . {0}; set +a`)",
        env.env_file().display()
    );
    println!("  logs:        {}/*.log", env.central.dir.display());
    println!(
        "               {}/*.log {}/*.log",
        host.ovs_rundir.display(),
        host.ovn_rundir.display()
    );
    if docker {
        println!(
            "               {}/*.log (when the lab started Docker)",
            env.docker.dir.display()
        );
    }
    if driver {
        println!("               {}", env.driver.log.display());
    }
    println!("Try:");
    println!("  ovs-vsctl --db={} show", host.ovsdb.remote());
    println!("  ovn-nbctl --db={} show", env.central.nb.remote());
    println!("  ovn-sbctl --db={} show", env.central.sb.remote());
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
    if docker && driver {
        println!("  docker network create -d ovn --subnet 10.91.0.0/24 mynet");
    }
    println!("  docker-ovn lab down --dir {}", env.dir.display());
}
