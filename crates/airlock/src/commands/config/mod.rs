pub mod schema;
pub mod show;
pub mod validate;
