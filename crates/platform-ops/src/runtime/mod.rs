//! The local runtime: the template's routing, state machines in the `asl` engine, functions in process.

pub mod pattern;
pub mod template;
