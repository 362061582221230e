//! Account vending: one event creates (or finds) a client's account, places and tags it in its OU,
//! baselines it through the member-baseline StackSet and publishes its facts.
//!
//! The request and its validation (`request`), the ports (`ports`) and their adapters (`aws`:
//! Organizations, CloudFormation StackSets, member stacks through the automation role), and the
//! handler's typed actions (`handler`), one per state of `state-machines/account-vending.asl.json`.

pub mod aws;
pub mod function;
pub mod handler;
pub mod ports;
pub mod request;
