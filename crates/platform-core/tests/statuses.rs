//! The AWS statuses as enums: each spelled on the wire exactly as the strings they replaced.

use platform_core::organization::{Account, AccountState};
use platform_core::stacksets::{DetailedStatus, DriftStatus, DriftedInstance, Instance, InstanceStatus};
use serde_json::json;

/// Serde, strum's Display and `as_str` agree with AWS's spelling, and each parses back.
fn spelled<T>(cases: &[(T, &str)])
where
    T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Display + std::fmt::Debug + PartialEq,
    T: for<'a> From<&'a str>,
{
    for (value, wire) in cases {
        assert_eq!(serde_json::to_value(value).expect("serialised"), json!(wire), "{value:?}");
        assert_eq!(value.to_string(), *wire);
        assert_eq!(&T::from(wire), value);
        assert_eq!(&serde_json::from_value::<T>(json!(wire)).expect("deserialised"), value);
    }
}

#[test]
fn each_variant_is_spelled_as_aws_spells_it() {
    spelled(&[
        (AccountState::PendingActivation, "PENDING_ACTIVATION"),
        (AccountState::Active, "ACTIVE"),
        (AccountState::Suspended, "SUSPENDED"),
        (AccountState::PendingClosure, "PENDING_CLOSURE"),
        (AccountState::Closed, "CLOSED"),
        (AccountState::Other("UNKNOWN".into()), "UNKNOWN"),
    ]);
    spelled(&[
        (InstanceStatus::Current, "CURRENT"),
        (InstanceStatus::Outdated, "OUTDATED"),
        (InstanceStatus::Inoperable, "INOPERABLE"),
        (InstanceStatus::Other("UNKNOWN".into()), "UNKNOWN"),
    ]);
    spelled(&[
        (DetailedStatus::Pending, "PENDING"),
        (DetailedStatus::Running, "RUNNING"),
        (DetailedStatus::Succeeded, "SUCCEEDED"),
        (DetailedStatus::Failed, "FAILED"),
        (DetailedStatus::Cancelled, "CANCELLED"),
        (DetailedStatus::Inoperable, "INOPERABLE"),
        (DetailedStatus::SkippedSuspendedAccount, "SKIPPED_SUSPENDED_ACCOUNT"),
        (DetailedStatus::FailedImport, "FAILED_IMPORT"),
    ]);
    spelled(&[
        (DriftStatus::Drifted, "DRIFTED"),
        (DriftStatus::InSync, "IN_SYNC"),
        (DriftStatus::Unknown, "UNKNOWN"),
        (DriftStatus::NotChecked, "NOT_CHECKED"),
    ]);
}

#[test]
fn a_value_aws_adds_later_is_kept_as_sent() {
    let added = InstanceStatus::from("PARTIALLY_CURRENT");
    assert_eq!(added, InstanceStatus::Other("PARTIALLY_CURRENT".into()));
    assert_eq!((added.as_str(), added.to_string()), ("PARTIALLY_CURRENT", "PARTIALLY_CURRENT".into()));
    let read: DetailedStatus = serde_json::from_str(r#""PAUSED""#).expect("an unknown value still reads");
    assert_eq!(serde_json::to_string(&read).expect("written"), r#""PAUSED""#);
    // Case is AWS's: a lower-case spelling is not the known value.
    assert_eq!(AccountState::from("active"), AccountState::Other("active".into()));
}

#[test]
fn the_records_read_and_write_the_json_they_did_as_strings() {
    let instance = r#"{"region":"us-west-2","status":"OUTDATED","detailed":"FAILED","reason":"no","stack_id":null}"#;
    let read: Instance = serde_json::from_str(instance).expect("instance");
    assert_eq!((&read.status, &read.detailed), (&InstanceStatus::Outdated, &Some(DetailedStatus::Failed)));
    assert_eq!(serde_json::to_string(&read).expect("written"), instance);

    let account = r#"{"id":"111111111111","name":"acme","email":"a@example.com","state":"PENDING_CLOSURE","ou":"Dev"}"#;
    let read: Account = serde_json::from_str(account).expect("account");
    assert_eq!(read.state, AccountState::PendingClosure);
    assert_eq!(serde_json::to_string(&read).expect("written"), account);

    let drifted = r#"{"account":"111111111111","region":"us-east-1","drift_status":"DRIFTED"}"#;
    let read: DriftedInstance = serde_json::from_str(drifted).expect("drifted");
    assert_eq!(read.drift_status, DriftStatus::Drifted);
    assert_eq!(serde_json::to_string(&read).expect("written"), drifted);
}
