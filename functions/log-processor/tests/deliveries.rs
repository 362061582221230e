//! The record of deliveries on the emulator's DynamoDB: the conditions the fake mirrors.

use emulator::Emulator;
use platform_core::deliveries::{Begun, Deliveries};
use platform_core::guard::{DeliveryTable, GuardTable};

/// GIVEN a delivery begun THEN another invocation finds it held until the lease runs out, then
/// takes it over; once done every later delivery is skipped; a delivery given up is free again.
#[tokio::test]
async fn deliveries_are_held_taken_over_completed_and_released() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let client = aws_sdk_dynamodb::Client::new(&emulator.sdk_config());
    GuardTable::create(client.clone(), "guard").await.expect("table");
    let table = DeliveryTable::new(client.into(), "guard", "log-processor");
    let now = 1_800_000_000;
    assert_eq!(table.begin("k", now, 60).await.expect("begin"), Begun::Fresh);
    assert_eq!(table.begin("k", now + 5, 60).await.expect("begin"), Begun::InProgress { lease_until: now + 60 });
    assert_eq!(table.begin("k", now + 61, 60).await.expect("begin"), Begun::Fresh, "a dead holder's lease");
    table.complete("k", now + 62).await.expect("complete");
    assert_eq!(table.begin("k", now + 9_999, 60).await.expect("begin"), Begun::Done);
    table.release("k").await.expect("a done delivery stays done");
    assert_eq!(table.begin("k", now + 9_999, 60).await.expect("begin"), Begun::Done);

    assert_eq!(table.begin("other", now, 60).await.expect("begin"), Begun::Fresh);
    table.release("other").await.expect("release");
    assert_eq!(table.begin("other", now + 1, 60).await.expect("begin"), Begun::Fresh, "free again at once");
}
