//! The seeded account's client zone: the hand-built environment had none, so the takeover gives it one, as vending's baseline does.

use platform_core::aws::AwsContext;
use platform_core::error::{AwsError, ClassifyExt};

use super::{Outcome, SeedReport};

/// The public hosted zone `name` in the member account (`ctx`), created only when missing; its id
/// as CloudFormation's `!Ref` gives it (no `/hostedzone/` prefix).
pub(super) async fn ensure_client_zone(
    ctx: &AwsContext,
    name: &str,
    report: &mut SeedReport,
) -> Result<String, AwsError> {
    let route53 = ctx.client::<aws_sdk_route53::Client>();
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    let zones = route53.list_hosted_zones_by_name().dns_name(&fqdn).send().await.classify("ListHostedZonesByName")?;
    let bare = |id: &str| id.trim_start_matches("/hostedzone/").to_string();
    if let Some(zone) = zones.hosted_zones().iter().find(|z| z.name() == fqdn) {
        report.record(format!("hosted zone {name}"), Outcome::Exists);
        return Ok(bare(zone.id()));
    }
    let created = route53
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("platform-ops-world-{name}"))
        .send()
        .await
        .classify("CreateHostedZone")?;
    report.record(format!("hosted zone {name}"), Outcome::Created);
    Ok(created.hosted_zone().map(|z| bare(z.id())).unwrap_or_default())
}
