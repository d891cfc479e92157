//! Transports: stdio, Streamable HTTP, the JSON-RPC bridge, and what the HTTP servers share
//! (listener, limits, Host/Origin checks, bearer auth).

pub(crate) mod frame;
pub mod http;
pub mod jsonrpc_bridge;
pub(crate) mod limits;
pub(crate) mod net;
pub(crate) mod ready;
pub(crate) mod sessions;
pub mod stdio;

pub use frame::check_frame;
pub use net::{HttpOptions, is_loopback};
