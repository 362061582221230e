//! Name shapes as AWS and Kubernetes accept them: DNS labels, regions, instance types, ECR repositories.

pub(super) fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !s.is_empty()
        && s.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub(super) fn is_domain_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`.
pub(super) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// `t3.medium`, `m6i.xlarge`, `r6g.2xlarge`: family with a generation digit, then a size.
pub(super) fn is_instance_type(s: &str) -> bool {
    let Some((family, size)) = s.split_once('.') else { return false };
    family.len() >= 2
        && family.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && family.bytes().any(|b| b.is_ascii_digit())
        && family.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !size.is_empty()
        && size.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// ECR repository names: lowercase path components, no tag or digest.
pub(super) fn is_ecr_repository(s: &str) -> bool {
    s.len() >= 2
        && s.len() <= 256
        && s.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && part.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && part.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_aws_and_kubernetes_check_them() {
        assert!(
            is_region("us-east-1") && is_region("us-gov-west-1") && !is_region("east-us-1x") && !is_region("us-east")
        );
        assert!(is_instance_type("t3.medium") && is_instance_type("r6g.2xlarge") && !is_instance_type("medium"));
        assert!(is_ecr_repository("abc-trading/api-gateway") && !is_ecr_repository("abc/api:latest"));
        assert!(is_dns_label("user-management") && !is_dns_label("User_Management") && !is_dns_label("-x"));
        assert!(is_domain_name("abc-trading-dev.com") && !is_domain_name("localhost"));
    }
}
