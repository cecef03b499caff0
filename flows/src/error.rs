//! The crate's one error type.

use crate::decode::DecodeError;
use crate::field::Field;
use crate::message::SwitchError;

/// What can go wrong building or encoding a flow; every variant names the
/// part of the flow at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowsError {
    /// A match field whose prerequisite is absent or different (OVS
    /// rejects such a flow as `OFPBMC_BAD_PREREQ`).
    #[error("match field {field} needs {needs}")]
    MissingPrerequisite { field: Field, needs: &'static str },
    /// A register or field bit range that does not fit the field.
    #[error("bits {start}..={end} do not fit {field}, which has {width} bits")]
    BitsOutOfRange {
        field: Field,
        start: u16,
        end: u16,
        width: u16,
    },
    /// `load` and `output` to a register name at most 64 bits.
    #[error("{bits} bits of {field}: load and output name at most 64")]
    TooManyBits { field: Field, bits: u16 },
    /// A value wider than the bits it is loaded into.
    #[error("{value:#x} does not fit in {bits} bits of {field}")]
    ValueTooWide { field: Field, value: u64, bits: u16 },
    /// Two fields of a move of different widths.
    #[error("move or learn from {src} ({src_bits} bits) to {dst} ({dst_bits} bits)")]
    MoveWidthMismatch {
        src: Field,
        src_bits: u16,
        dst: Field,
        dst_bits: u16,
    },
    /// `learn` into table 255, which OVS refuses (it means "all tables").
    #[error("learn into table 255: no such table")]
    BadLearnTable,
    /// A register number past reg15.
    #[error("there is no register {0} (reg0 to reg15)")]
    NoSuchRegister(u8),
    /// `goto_table` may only go forward.
    #[error("goto_table:{to} in table {from}: OpenFlow only goes forward (use resubmit)")]
    BackwardGoto { from: u8, to: u8 },
    /// A message from the switch too short or inconsistent to read.
    #[error("{0} from the switch is malformed")]
    Malformed(&'static str),
    /// The switch refused request `xid`.
    #[error("the switch refused request {xid:#x}: {error}")]
    Switch { xid: u32, error: SwitchError },
    /// The switch refused flow `index` of a batch or bundle; a bundle
    /// then changed nothing.
    #[error("flow {index} ({flow}) was refused: {error}")]
    FlowRejected {
        index: usize,
        flow: String,
        error: SwitchError,
    },
    /// The switch refused a meter.
    #[error("meter {meter} was refused: {error}")]
    MeterRejected { meter: String, error: SwitchError },
    /// No connection to the switch (it may come back: see the events).
    #[error("not connected to {target}: {reason}")]
    Disconnected { target: String, reason: String },
    /// The switch did not answer in time.
    #[error("{what} (xid {xid:#x}) got no answer from {target} within {millis} ms")]
    Timeout {
        what: &'static str,
        xid: u32,
        target: String,
        millis: u128,
    },
    /// A target that is neither `unix:PATH` nor `tcp:HOST:PORT`.
    #[error("{0:?} is not an OpenFlow target (unix:PATH or tcp:HOST:PORT)")]
    BadTarget(String),
    /// A reply the decoder could not read back into the model.
    #[error("a reply from {target}: {error}")]
    Decode { target: String, error: DecodeError },
    /// A message past OpenFlow's 64 KiB length field.
    #[error("a message of {0} bytes is past OpenFlow's 65535")]
    TooLong(usize),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, FlowsError>;
