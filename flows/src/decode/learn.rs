//! NXAST_LEARN back into a [`Learn`]: what flow statistics return for a
//! flow that learns. Immediate values, flags, FIN timeouts and
//! NXAST_LEARN2 are not in the model and are refused.

use super::{DecodeError, Reader, Result, bits, nxm_field};
use crate::action::Action;
use crate::learn::{
    DST_LOAD, DST_MASK, DST_MATCH, DST_OUTPUT, LEARN_FIXED, Learn, LearnSpec, N_BITS_MASK,
    SRC_IMMEDIATE,
};

pub(super) use crate::learn::NXAST_LEARN as SUBTYPE;

/// The whole action, its 10-byte Nicira header included.
pub(super) fn decode(bytes: &[u8]) -> Result<Action> {
    let (fixed, specs) = bytes
        .split_at_checked(LEARN_FIXED)
        .ok_or(DecodeError::Truncated {
            what: "learn",
            need: LEARN_FIXED,
            have: bytes.len(),
        })?;
    let mut r = Reader::new(fixed, "learn");
    r.take(10)?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    let cookie = r.u64()?;
    let flags = r.u16()?;
    if flags != 0 {
        return Err(DecodeError::Unsupported {
            what: "learn flags",
            value: u64::from(flags),
        });
    }
    let table = r.u8()?;
    r.zeros(5)?;
    Ok(Action::Learn(Learn {
        table,
        priority,
        idle_timeout,
        hard_timeout,
        cookie,
        specs: decode_specs(specs)?,
    }))
}

/// Specs until the end, or until the zero header the padding starts with.
fn decode_specs(bytes: &[u8]) -> Result<Vec<LearnSpec>> {
    let mut specs = Vec::new();
    let mut r = Reader::new(bytes, "learn spec");
    while !r.rest.is_empty() {
        let header = r.u16()?;
        if header == 0 {
            return r.zero_rest().map(|()| specs);
        }
        specs.push(decode_spec(&mut r, header)?);
    }
    Ok(specs)
}

fn decode_spec(r: &mut Reader<'_>, header: u16) -> Result<LearnSpec> {
    if header & SRC_IMMEDIATE != 0 {
        return Err(DecodeError::Unsupported {
            what: "learn spec with an immediate value",
            value: u64::from(header),
        });
    }
    let nbits = header & N_BITS_MASK;
    let subfield = |r: &mut Reader<'_>| -> Result<_> {
        let field = nxm_field(r.u32()?)?;
        bits(field, r.u16()?, nbits)
    };
    let src = subfield(r)?;
    match header & DST_MASK {
        DST_MATCH => Ok(LearnSpec::Match {
            src,
            dst: subfield(r)?,
        }),
        DST_LOAD => Ok(LearnSpec::Load {
            src,
            dst: subfield(r)?,
        }),
        DST_OUTPUT => Ok(LearnSpec::Output(src)),
        _ => Err(DecodeError::Unsupported {
            what: "learn spec destination",
            value: u64::from(header),
        }),
    }
}
