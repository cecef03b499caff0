//! Carrying out a plan: each backend knows how to apply one step
//! ([`Repair`]); every step is tried, in order, and logged the same way.

use std::future::Future;

use super::Action;
use crate::error::{DriverError, Result};

/// A backend that carries out reconciliation steps.
pub trait Repair {
    /// Applies `action`; `Ok(false)` when there was nothing left to do
    /// (or, for a report, nothing to be done).
    fn apply(&self, action: &Action) -> impl Future<Output = Result<bool>>;
}

/// What [`apply_all`] did: the steps that changed something or need an
/// operator, and the first failure (after every step was tried).
pub struct Applied {
    pub done: Vec<Action>,
    pub first_error: Option<DriverError>,
}

impl Applied {
    pub fn into_result(self) -> Result<Vec<Action>> {
        self.first_error.map_or(Ok(self.done), Err)
    }
}

/// Applies every step of `actions` with `repair`.
pub async fn apply_all(repair: &impl Repair, actions: Vec<Action>) -> Applied {
    let mut applied = Applied {
        done: Vec::new(),
        first_error: None,
    };
    for action in actions {
        match repair.apply(&action).await {
            Ok(true) => {
                tracing::info!(action = %action, "reconciled");
                applied.done.push(action);
            }
            Ok(false) if needs_an_operator(&action) => {
                tracing::warn!(action = %action, "needs an operator");
                applied.done.push(action);
            }
            // A call in flight (a Leave, say) got there first.
            Ok(false) => tracing::debug!(action = %action, "already done"),
            Err(error) => {
                tracing::warn!(action = %action, %error, "reconciliation step failed");
                applied.first_error.get_or_insert(error);
            }
        }
    }
    applied
}

fn needs_an_operator(action: &Action) -> bool {
    matches!(
        action,
        Action::Report { .. } | Action::GatewayDeviceMissing { .. }
    )
}
