//! Helpers shared by the three engines, one file per concern: [`render`] (SQL text),
//! [`versions`] (version columns and text timestamps), [`scrub`] (driver messages without
//! secrets), [`values`] (value formatting) and [`retry`] (one more try after a lost connection).

pub(crate) mod render;
pub(crate) mod retry;
pub(crate) mod scrub;
pub(crate) mod values;
pub(crate) mod versions;

pub(crate) use airlock_config::redact::text::percent_decode;
pub(crate) use render::*;
pub(crate) use scrub::Scrubber;
pub(crate) use values::*;
pub(crate) use versions::*;
