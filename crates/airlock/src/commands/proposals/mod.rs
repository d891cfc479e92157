pub mod approve;
mod decide;
pub mod list;
pub mod reject;
pub mod show;
pub mod writeback_job;
