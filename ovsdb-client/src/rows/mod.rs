//! Typed rows (being written).
