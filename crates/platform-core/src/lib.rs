//! Shared core of platform-ops: config model, ports, AWS adapters, error classes and sessions.

/// The strum and serde derives of a status AWS sends as a string: both spell a variant in
/// SCREAMING_SNAKE_CASE, and a value AWS adds later lands in `Other` as sent, so the JSON the
/// state machines and reports read stays what the string was.
macro_rules! aws_status {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize, ::strum::Display,
            ::strum::EnumString, ::strum::AsRefStr,
        )]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($variant,)+
            /// A value this code does not know, kept as sent. Made by `From<&str>`, which picks
            /// the named variant for a known value: a known value here would compare unequal.
            #[serde(untagged)]
            #[strum(default, transparent)]
            Other(String),
        }

        impl $name {
            /// The value as AWS spells it.
            pub fn as_str(&self) -> &str {
                self.as_ref()
            }
        }
    };
}

pub mod approvals;
pub mod aws;
pub mod calendar;
pub mod capacity;
pub mod claims;
pub mod config;
pub mod deliveries;
pub mod error;
#[cfg(feature = "fakes")]
pub mod fakes;
#[cfg(feature = "dynamodb")]
pub mod guard;
pub mod lambda;
pub mod monitoring;
pub mod organization;
pub mod platform_stack;
pub mod ports;
pub mod quantity;
pub mod release;
pub mod sessions;
pub mod signals;
pub mod stacksets;
pub mod telemetry;
pub mod trust;
pub mod zone;

pub use error::{AwsError, ClassifyExt, ErrorClass};
