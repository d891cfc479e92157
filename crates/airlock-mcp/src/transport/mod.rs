//! Transports: stdio, Streamable HTTP, and what the HTTP servers share (listener, limits,
//! Host/Origin checks, bearer auth).

pub mod http;
pub(crate) mod net;
pub mod stdio;

pub use net::{HttpOptions, is_loopback};
