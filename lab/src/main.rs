//! `docker-ovn-lab`: the lab (up, down) and the provisioning of real
//! machines. A development and test tool beside the `docker-ovn` driver,
//! which it starts from the same build directory.

use clap::Parser;

use docker_ovn_lab::LabCommand;

#[derive(Parser)]
#[command(
    name = "docker-ovn-lab",
    version,
    about = "The docker-ovn lab: OVS, OVN, dockerd and the docker-ovn driver on one machine or several"
)]
struct Cli {
    #[command(subcommand)]
    command: LabCommand,
}

fn main() -> anyhow::Result<()> {
    docker_ovn_lab::run(&Cli::parse().command)
}
