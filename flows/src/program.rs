//! Changing a switch's flows over a [`Client`]: pipelined FLOW_MODs ended
//! by a barrier, atomic bundles, and reading flows back by cookie.

use crate::connection::{Client, SentRequest, SilentErrors as Errors};
use crate::decode::{FlowCounters, decode_flow_stats};
use crate::error::{FlowsError, Result};
use crate::flow::Flow;
use crate::flow::FlowMod;
use crate::message::{self, Aggregate, BundleControl, SwitchError};
use crate::meter::{
    Meter, MeterCommand, MeterMod, OFPET_METER_MOD_FAILED, OFPMMFC_METER_EXISTS,
    OFPMMFC_UNKNOWN_METER,
};

impl Client {
    /// Sends every FLOW_MOD without waiting, then a barrier; fails naming
    /// the first flow the switch refused (the others are in: use
    /// [`Client::bundle`] for all or nothing).
    pub async fn flow_mods(&self, mods: &[FlowMod]) -> Result<()> {
        let errors = Errors::default();
        let mut xids = Vec::with_capacity(mods.len());
        let sent = self.send_all(mods, &errors, &mut xids, |xid, message| Ok((xid, message)));
        let barrier = match sent {
            Ok(()) => self.barrier().await,
            Err(error) => Err(error),
        };
        self.forget_silent(&xids);
        barrier?;
        first_refusal(mods, &xids, &errors)
    }

    /// Applies `mods` as one atomic, ordered bundle: all of them or, when
    /// the switch refuses any, none, with an error naming the first flow
    /// refused and why.
    ///
    /// Two round trips: the open, the adds and a barrier go out together
    /// (the switch answers in order), then the commit. The commit waits
    /// for the barrier because a switch that refuses an add only leaves
    /// that add out of the bundle (Open vSwitch does): committing before
    /// every add was judged could apply part of it. A single FLOW_MOD
    /// needs no bundle (the switch applies it whole or refuses it): it
    /// goes with a barrier, one round trip.
    pub async fn bundle(&self, mods: &[FlowMod]) -> Result<()> {
        if mods.len() == 1 {
            return self.flow_mods(mods).await;
        }
        let id = self.xid();
        let flags = message::OFPBF_ATOMIC | message::OFPBF_ORDERED;
        let opened = self.send_bundle_control(id, BundleControl::Open, flags)?;
        let errors = Errors::default();
        let mut xids = Vec::with_capacity(mods.len());
        let sent = self.send_all(mods, &errors, &mut xids, |xid, inner| {
            Ok((
                xid,
                message::bundle_add(self.version(), xid, id, flags, &inner)?,
            ))
        });
        let barrier = sent.and_then(|()| self.send_barrier());
        // The open's reply comes first; each is awaited so none is left
        // in the pending map.
        let open = self.replies(opened).await;
        let judged = match barrier {
            Ok(barrier) => self.replies(barrier).await.map(drop),
            Err(error) => Err(error),
        };
        self.forget_silent(&xids);
        let refused = open
            .map(drop)
            .and(judged)
            .and_then(|()| first_refusal(mods, &xids, &errors));
        if let Err(error) = refused {
            let _ = self.bundle_control(id, BundleControl::Discard, flags).await;
            return Err(error);
        }
        self.bundle_control(id, BundleControl::Commit, flags).await
    }

    /// Encodes and sends each FLOW_MOD (wrapped by `wrap`) as a silent
    /// request, recording its xid in `xids`.
    fn send_all(
        &self,
        mods: &[FlowMod],
        errors: &Errors,
        xids: &mut Vec<u32>,
        wrap: impl Fn(u32, Vec<u8>) -> Result<(u32, Vec<u8>)>,
    ) -> Result<()> {
        for flow_mod in mods {
            let xid = self.xid();
            let (xid, message) = wrap(xid, flow_mod.encode(xid)?)?;
            xids.push(xid);
            self.send_silent(xid, message, errors)?;
        }
        Ok(())
    }

    async fn bundle_control(&self, id: u32, control: BundleControl, flags: u16) -> Result<()> {
        let sent = self.send_bundle_control(id, control, flags)?;
        self.replies(sent).await.map(drop)
    }

    fn send_bundle_control(
        &self,
        id: u32,
        control: BundleControl,
        flags: u16,
    ) -> Result<SentRequest> {
        let xid = self.xid();
        let request = message::bundle_control(self.version(), xid, id, control, flags)?;
        self.send_request("bundle control", xid, request)
    }

    /// Makes each of `meters` exist as given: added, or changed where a
    /// meter of its id is there already. Meters go in before the flows
    /// that use them (a bundle holds flows only); fails naming the first
    /// meter the switch refused.
    pub async fn set_meters(&self, meters: &[Meter]) -> Result<()> {
        let refused = self.meter_mods(meters, MeterCommand::Add).await?;
        let (existing, other): (Vec<_>, Vec<_>) = refused
            .into_iter()
            .partition(|(_, e)| is_meter_error(e, OFPMMFC_METER_EXISTS));
        meter_refusal(meters, other)?;
        let changed: Vec<Meter> = existing.iter().map(|(index, _)| meters[*index]).collect();
        let refused = self.meter_mods(&changed, MeterCommand::Modify).await?;
        meter_refusal(&changed, refused)
    }

    /// Deletes the meters of `ids` (after the flows that use them); an id
    /// without a meter is no error.
    pub async fn delete_meters(&self, ids: &[u32]) -> Result<()> {
        let meters: Vec<Meter> = ids
            .iter()
            .map(|id| Meter {
                id: *id,
                kbps: 0,
                burst_kb: 0,
            })
            .collect();
        let mut refused = self.meter_mods(&meters, MeterCommand::Delete).await?;
        refused.retain(|(_, e)| !is_meter_error(e, OFPMMFC_UNKNOWN_METER));
        meter_refusal(&meters, refused)
    }

    /// Sends a METER_MOD of `command` for each meter, then a barrier; the
    /// refusals, by the meter's index.
    async fn meter_mods(
        &self,
        meters: &[Meter],
        command: MeterCommand,
    ) -> Result<Vec<(usize, SwitchError)>> {
        if meters.is_empty() {
            return Ok(Vec::new());
        }
        let errors = Errors::default();
        let mut xids = Vec::with_capacity(meters.len());
        let mut sent = Ok(());
        for meter in meters {
            let xid = self.xid();
            let message = MeterMod {
                command,
                meter: *meter,
            }
            .encode(xid)?;
            xids.push(xid);
            sent = self.send_silent(xid, message, &errors);
            if sent.is_err() {
                break;
            }
        }
        let barrier = match sent {
            Ok(()) => self.barrier().await,
            Err(error) => Err(error),
        };
        self.forget_silent(&xids);
        barrier?;
        let errors = errors.lock().unwrap_or_else(|p| p.into_inner());
        Ok(errors
            .iter()
            .filter_map(|(xid, error)| Some((xids.iter().position(|x| x == xid)?, error.clone())))
            .collect())
    }

    /// The number of flows, packets and bytes of the flows whose cookie
    /// has `cookie` in the bits of `mask` (mask 0: every flow).
    pub async fn aggregate(&self, cookie: u64, mask: u64) -> Result<Aggregate> {
        let xid = self.xid();
        let request = message::aggregate_stats_request(xid, cookie, mask)?;
        let replies = self.request("aggregate statistics", xid, request).await?;
        let reply = replies
            .first()
            .ok_or(FlowsError::Malformed("an aggregate statistics reply"))?;
        let (_, _, body) = message::multipart_reply(reply.get(8..).unwrap_or_default())?;
        Aggregate::parse(body)
    }

    /// The flow statistics replies (every part of a multipart reply) for
    /// the flows whose cookie has `cookie` in the bits of `mask`.
    pub async fn flow_stats_replies(&self, cookie: u64, mask: u64) -> Result<Vec<Vec<u8>>> {
        let xid = self.xid();
        let request = message::flow_stats_request(xid, cookie, mask)?;
        self.request("flow statistics", xid, request).await
    }

    /// The flows, in every table, whose cookie has `cookie` in the bits
    /// of `mask`, as the switch holds them, with their counters.
    pub async fn flows(&self, cookie: u64, mask: u64) -> Result<Vec<(Flow, FlowCounters)>> {
        let mut flows = Vec::new();
        for reply in self.flow_stats_replies(cookie, mask).await? {
            let (_, _, body) = message::multipart_reply(reply.get(8..).unwrap_or_default())?;
            let decoded = decode_flow_stats(body).map_err(|error| FlowsError::Decode {
                target: self.target().to_string(),
                error,
            })?;
            flows.extend(decoded);
        }
        Ok(flows)
    }
}

/// The first of `mods` the switch refused, by the xid it was sent with.
fn first_refusal(mods: &[FlowMod], xids: &[u32], errors: &Errors) -> Result<()> {
    let errors = errors.lock().unwrap_or_else(|p| p.into_inner());
    let first = errors
        .iter()
        .filter_map(|(xid, error)| Some((xids.iter().position(|x| x == xid)?, error)))
        .min_by_key(|(index, _)| *index);
    match first {
        Some((index, error)) => Err(FlowsError::FlowRejected {
            index,
            flow: mods
                .get(index)
                .map(|m| m.flow.to_string())
                .unwrap_or_default(),
            error: error.clone(),
        }),
        None => Ok(()),
    }
}

fn is_meter_error(error: &SwitchError, code: u16) -> bool {
    error.kind == OFPET_METER_MOD_FAILED && error.code == code
}

/// The first of `refused` (by index into `meters`) as an error.
fn meter_refusal(meters: &[Meter], refused: Vec<(usize, SwitchError)>) -> Result<()> {
    match refused.into_iter().min_by_key(|(index, _)| *index) {
        Some((index, error)) => Err(FlowsError::MeterRejected {
            meter: meters.get(index).map(Meter::to_string).unwrap_or_default(),
            error,
        }),
        None => Ok(()),
    }
}
