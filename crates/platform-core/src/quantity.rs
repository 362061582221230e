//! Kubernetes resource quantities as the flows compare them: memory in MiB.

/// A memory quantity (`512Mi`, `1Gi`, `1500M`, `1073741824`) in MiB, rounded down; `None` for
/// anything else (a fraction, an exponent, an unknown suffix).
pub fn mebibytes(quantity: &str) -> Option<u64> {
    let split = quantity.find(|c: char| !c.is_ascii_digit()).unwrap_or(quantity.len());
    let (digits, suffix) = quantity.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let bytes: u128 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        _ => return None,
    };
    u64::try_from(u128::from(n) * bytes / (1 << 20)).ok()
}

#[cfg(test)]
mod tests {
    use super::mebibytes;

    #[test]
    fn binary_and_decimal_suffixes_in_mebibytes() {
        assert_eq!(mebibytes("512Mi"), Some(512));
        assert_eq!(mebibytes("2Gi"), Some(2048));
        assert_eq!(mebibytes("1048576"), Some(1));
        assert_eq!(mebibytes("1500M"), Some(1430));
        assert_eq!(mebibytes("1Ti"), Some(1 << 20));
        for bad in ["", "Mi", "1.5Gi", "1e3", "-1Gi", "1Gb", "lots"] {
            assert_eq!(mebibytes(bad), None, "{bad}");
        }
    }
}
