//! Transports: stdio, Streamable HTTP, and what the HTTP servers share (listener, limits,
//! Host/Origin checks, bearer auth).

pub(crate) mod frame;
pub mod http;
pub(crate) mod limits;
pub(crate) mod net;
pub(crate) mod sessions;
pub mod stdio;

pub use frame::check_frame;
pub use net::{HttpOptions, is_loopback};
