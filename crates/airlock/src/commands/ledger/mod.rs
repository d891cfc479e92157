pub mod stats;
pub mod verify;
