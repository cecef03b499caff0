//! OpenFlow 1.3 and 1.4 for Open vSwitch, with the Nicira extensions OVS
//! adds: a typed model of flows, its wire encoding and `ovs-ofctl` text
//! form, and a controller's connection to a bridge.
//!
//! # What it is
//! Flows built from typed parts ([`Match`], [`Action`], [`Flow`]),
//! checked as OVS checks them (prerequisites, register ranges, forward
//! `goto_table`) before a byte is written, and encoded as the FLOW_MOD
//! messages ([`FlowMod`]) OVS itself encodes for the same flow: the golden
//! tests compare the bytes with `ovs-ofctl -O OpenFlow13 parse-flow`. Each
//! flow prints in `ovs-ofctl dump-flows` syntax, for logs and golden files.
//! A [`Client`] speaks to a bridge's `<rundir>/<bridge>.mgmt` (or TCP):
//! many requests in flight, pipelined FLOW_MODs ended by one barrier,
//! atomic bundles (ONF's extension on 1.3, the native messages on 1.4),
//! statistics by cookie, echoes, reconnection reported as [`Event`]s.
//!
//! # What it is not
//! Not a wrapper of `ovs-ofctl`: that tool is the tests' oracle only. Not
//! all of OpenFlow: the fields, actions and meters the driver's pipelines
//! use (no groups or conntrack yet); the decoder reads what the crate
//! encodes and what flow statistics return.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use flows::{Action, Field, Flow, Mac, Match, Port};
//! use flows::action::Bits;
//!
//! // Answer ARP requests for 10.1.0.1 from the switch: the ARP responder.
//! let gateway: Mac = "0a:5a:0a:01:00:01".parse()?;
//! let flow = Flow::new(3, 200)
//!     .cookie(0x1)
//!     .matching(Match::new().eth_type(0x0806).arp_op(1).arp_tpa(Ipv4Addr::new(10, 1, 0, 1)))
//!     .action(Action::Move { src: Bits::all(Field::EthSrc), dst: Bits::all(Field::EthDst) })
//!     .action(Action::set_eth_src(gateway))
//!     .action(Action::set_arp_op(2))
//!     .action(Action::Output(Port::InPort));
//! let message = flow.add().encode(1)?;
//! assert_eq!(&message[..2], &[0x04, 14]); // OpenFlow 1.3, FLOW_MOD
//! assert!(flow.to_string().starts_with("cookie=0x1, table=3, priority=200,arp,arp_op=1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules
//! - [`field`]: the packet fields, their OXM/NXM headers and names, in
//!   OVS's canonical order.
//! - [`matches`](mod@matches): [`Match`], with prerequisites checked.
//! - [`action`]: [`Action`]s, OpenFlow's and Nicira's, and [`action::Bits`]
//!   of a field for `load` and `move`.
//! - [`learn`]: [`learn::Learn`], flows added by packets (MAC learning).
//! - [`flow`]: [`Flow`] and [`FlowMod`] (all five commands, cookie masks).
//! - [`meter`]: [`meter::Meter`]s (rate limits with a drop band) and
//!   their METER_MODs.
//! - [`decode`]: FLOW_MODs and flow statistics read back into the model.
//! - [`message`]: hello, echo, barrier, bundles, statistics requests,
//!   and reading errors and statistics replies.
//! - [`connection`]: [`Client`], one switch's connection: many requests
//!   in flight, echoes, reconnects with [`Event`]s; `program` adds
//!   pipelined FLOW_MODs with a barrier, atomic bundles, meters and
//!   statistics.
//! - [`mac`]: [`Mac`]. [`error`]: [`FlowsError`].
//! - `wire`, `text`: big-endian writing; values in `ovs-ofctl` syntax.

pub mod action;
pub mod connection;
pub mod decode;
pub mod error;
pub mod field;
pub mod flow;
pub mod learn;
pub mod mac;
pub mod matches;
pub mod message;
pub mod meter;

mod program;
mod text;
mod wire;

pub use action::{Action, Port};
pub use connection::{Client, Config, Event, Target};
pub use error::{FlowsError, Result};
pub use field::Field;
pub use flow::{Command, Flow, FlowMod};
pub use mac::Mac;
pub use matches::Match;
