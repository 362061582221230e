//! Releases as CI publishes them and as an account runs them: shared with the fleet release, so kept in platform-core.

pub use platform_core::release::*;
