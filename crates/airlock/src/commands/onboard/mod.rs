//! `airlock onboard db`: own-database onboarding.

pub mod db;
