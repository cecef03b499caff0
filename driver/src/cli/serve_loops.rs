//! `docker-ovn serve`'s background work: reconciliation once at start and
//! then every `--reconcile-interval`, and the IPAM reclaim.

use std::time::Duration;

use crate::cli::serve::Backends;
use crate::ovn::address_pools::AddressPools;
use crate::ovn::northbound::Northbound;

pub async fn reconcile_once(backends: &Backends) {
    if let Some((ovn, _)) = &backends.ovn {
        reconcile_pass("ovn", ovn.reconcile(false)).await;
    }
    if let Some(ovs) = &backends.ovs {
        reconcile_pass("ovs", ovs.reconcile(false)).await;
    }
}

async fn reconcile_pass(
    driver: &str,
    pass: impl std::future::Future<Output = crate::error::Result<Vec<crate::reconcile::Action>>>,
) {
    let started = std::time::Instant::now();
    match pass.await {
        Ok(actions) => {
            if let Some(metrics) = crate::metrics::installed() {
                metrics.reconciled(driver, &actions);
            }
            tracing::info!(
                driver,
                actions = actions.len(),
                duration_ms = started.elapsed().as_millis() as u64,
                "reconciled"
            )
        }
        Err(error) => tracing::warn!(driver, %error, "reconciliation incomplete; will retry"),
    }
}

/// Reconciles this host's endpoints now and then: sandboxes that died
/// without Leave, ports lost by ovs-vswitchd, endpoints never joined,
/// flows that differ from the databases'.
pub async fn reconcile_forever(backends: Backends, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    // The first tick is immediate, and start-up has just reconciled.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        reconcile_once(&backends).await;
    }
}

/// Reconciles the IPAM pools with what the endpoints use, now and then.
pub async fn reclaim_forever(
    pools: AddressPools,
    nb: Northbound,
    grace: Duration,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        if let Err(error) = pools.reclaim(&nb.addresses_in_use(), grace).await {
            tracing::warn!(%error, "could not reclaim unused addresses; will retry");
        }
    }
}
