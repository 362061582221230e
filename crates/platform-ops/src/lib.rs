//! The platform-ops CLI's logic: validation, config publishing, the local world and the demo.

pub mod actions;
pub mod demo;
pub mod validate;
pub mod world;
