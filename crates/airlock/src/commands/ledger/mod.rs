pub mod import;
pub mod stats;
pub mod verify;
