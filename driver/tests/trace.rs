//! `docker-ovn trace SRC DST` on the lab's host1 with real dockerd: for a
//! `-d ovn` and a `-d ovs` network, two containers' echo is delivered, a
//! spoofed source is dropped by the spoof guard, `icc=false` drops it
//! naming the option, and containers of two networks share none. Needs
//! root and the lab; fails (never skips) without them.

use std::process::Output;

use test_support::{DockerNetwork, Lab};

const DOCKER_OVN: &str = env!("CARGO_BIN_EXE_docker-ovn");

/// `docker-ovn trace ARGS...` against host1's databases.
fn trace(lab: &Lab, args: &[&str]) -> Output {
    std::process::Command::new(DOCKER_OVN)
        .arg("trace")
        .args(args)
        .args(["--ovs-db", &lab.ovs_db(), "--nb-db", &lab.nb_db()])
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .output()
        .expect("run docker-ovn trace")
}

/// Its first line (the verdict), insisting on the exit status.
fn verdict(lab: &Lab, args: &[&str], delivered: bool) -> String {
    let output = trace(lab, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.success(),
        delivered,
        "trace {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().next().unwrap_or_default().to_string()
}

/// Two containers `<name>-a`, `<name>-b` on a network of `driver`.
fn pair(driver: &str, name: &str, extra: &[&str]) -> DockerNetwork {
    let mut network = DockerNetwork::create_on(driver, name, extra);
    network.run(&format!("{name}-a"), &[]);
    network.run(&format!("{name}-b"), &[]);
    network
}

fn assert_traces(lab: &Lab, driver: &str, subnet: &str, spoofed: &str, icc_subnet: &str) {
    let name = format!("dovn-tr-{driver}");
    let open = pair(driver, &name, &["--subnet", subnet]);
    let (a, b) = (format!("{name}-a"), format!("{name}-b"));
    let delivered = verdict(lab, &[&a, &b], true);
    assert!(delivered.contains("delivered"), "{delivered}");
    let spoof = verdict(lab, &[&a, &b, "--source-ip", spoofed], false);
    assert!(spoof.contains("spoof guard"), "{spoof}");
    let out = verdict(lab, &[&a, "192.0.2.1"], true);
    assert!(out.contains("gateway"), "{out}");
    let icc = format!("{driver}.icc=false");
    let closed_name = format!("dovn-tr-{driver}-icc");
    let closed = pair(driver, &closed_name, &["-o", &icc, "--subnet", icc_subnet]);
    let (c, d) = (format!("{closed_name}-a"), format!("{closed_name}-b"));
    let isolated = verdict(lab, &[&c, &d], false);
    assert!(isolated.contains("icc=false"), "{isolated}");
    let apart = verdict(lab, &[&a, &c], false);
    assert!(apart.contains("share no network"), "{apart}");
    closed.remove();
    open.remove();
}

#[test]
fn ovn_traces_say_delivered_spoofed_icc_off_and_apart() {
    let lab = Lab::require();
    assert_traces(&lab, "ovn", "10.79.0.0/24", "10.79.0.99", "10.78.0.0/24");
}

#[test]
fn ovs_traces_say_delivered_spoofed_icc_off_and_apart() {
    let lab = Lab::require();
    assert_traces(&lab, "ovs", "10.77.0.0/24", "10.77.0.99", "10.76.0.0/24");
}
