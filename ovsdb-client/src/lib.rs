//! placeholder crate doc, rewritten at the end
pub mod error;
pub mod framing;
pub mod value;

pub use error::{Error, OperationErrorKind, Result};
pub use uuid::Uuid;
pub use value::{Atom, Row, Value};
pub mod rows;
pub mod schema;
