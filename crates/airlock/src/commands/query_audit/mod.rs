pub mod export;
pub mod list;
pub mod show;
