//! Amazon States Language: definitions loaded and checked, then run locally on a virtual clock.

pub mod intrinsic;
pub mod path;
