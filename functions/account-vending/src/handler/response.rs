//! What each action answers: the fields the state machine's `ResultSelector`s and Choices read.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Vending;
use crate::ports::Finish;

/// One action's answer. Untagged: each variant is the JSON its action returned before it was
/// typed, so the definition's `$.Payload.<field>` paths are unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// validate, find-or-create, await-account, place, baseline, await-baseline: the vending moves on.
    Vending(Vending),
    Claimed(Claimed),
    Slot(Slot),
    Released(Released),
    /// finish: how the claim was closed.
    Finished(Finish),
    Facts(PublishedFacts),
    Quarantine(Quarantine),
}

/// `claim`: false when another execution holds the vending (the state machine joins it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Claimed {
    pub claimed: bool,
}

/// `acquire-slot`: only ever true, since no free slot is the `NoSlot` error the state machine retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub slot: bool,
}

/// `release-slot`: only ever true; the state machine discards it (`ResultPath: null`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Released {
    pub released: bool,
}

/// `publish-facts`: every fact the account has, and how many this run had to write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedFacts {
    pub vending: Vending,
    pub facts: BTreeMap<String, String>,
    pub written: usize,
    /// The client zone's delegation from the environment's parent zone.
    pub delegation: Delegation,
}

/// The NS record of the client's zone in the parent zone, and whether this run wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delegation {
    pub name: String,
    pub name_servers: Vec<String>,
    pub changed: bool,
}

/// `quarantine`: the account moved to the Quarantine OU, or the reason there was nothing to move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quarantine {
    pub quarantined: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
    pub step: String,
    pub cause: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Quarantine {
    pub fn moved(account: &str, ou: &str, step: &str, cause: &str) -> Self {
        Quarantine {
            quarantined: true,
            account: Some(account.to_string()),
            ou: Some(ou.to_string()),
            step: step.to_string(),
            cause: cause.to_string(),
            reason: None,
        }
    }

    /// The vending failed before Organizations made an account.
    pub fn no_account(step: &str, cause: &str) -> Self {
        Quarantine {
            quarantined: false,
            account: None,
            ou: None,
            step: step.to_string(),
            cause: cause.to_string(),
            reason: Some("no account was created: nothing to quarantine".to_string()),
        }
    }
}
