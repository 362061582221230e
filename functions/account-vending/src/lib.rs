//! Account vending: a client's account created (or found), placed and tagged in its OU, baselined, published.

// The request and its validation (`request`), the ports (`ports`) and their adapters (`aws`:
// Organizations, CloudFormation StackSets, member stacks through the automation role), and the
// handler's typed actions (`handler`), one per state of `state-machines/account-vending.asl.json`.

pub mod aws;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod function;
pub mod handler;
pub mod ports;
pub mod request;
