//! A realistic, deterministic subscription payload for benchmarks and comparisons.

// 20 services, ~300-byte lines in the three shapes the platform writes (service JSON, Fluent Bit
// envelope, plain text), about 7% errors, some secrets and failure signatures, encoded as
// CloudWatch delivers it (JSON batch, gzip, base64).

use std::io::Write;

const SERVICES: [&str; 20] = [
    "authentication",
    "authorization",
    "user-management",
    "api-gateway",
    "audit",
    "cache",
    "compliance",
    "logging",
    "market-data",
    "message-queue",
    "order-management",
    "portfolio-management",
    "position-management",
    "price-feed",
    "quote-service",
    "reporting",
    "risk-management",
    "settlement",
    "trade-execution",
    "notification",
];

/// A small deterministic generator (xorshift): the same payload on every machine and run, and
/// the same random texts in every test run. The seed must not be zero.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The log lines of the payload.
pub fn lines(count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed.max(1));
    (0..count)
        .map(|i| {
            let service = SERVICES[rng.below(20) as usize];
            let roll = rng.below(1000);
            let trace = format!("{:016x}", rng.next());
            // Spring Boot's MDC puts the request id on every line: random, so it also gives the
            // payload the entropy real traffic has (the compressed size tracks it).
            let (a, b) = (rng.next(), rng.next());
            let request = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                (b >> 48) | 0x8000,
                b & 0xffff_ffff_ffff
            );
            let ms = rng.below(900) + 1;
            let body = match roll {
                // ~7% errors, some with known signatures.
                0..=19 => format!(
                    "Connection to database-service:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections (attempt {})",
                    rng.below(9)
                ),
                20..=29 => "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception connecting to axon-server:8124 while appending events".to_string(),
                30..=39 => format!("Back-off restarting failed container {service} in pod {service}-7c9d8-{:05x} after exit code 137", rng.below(0xfffff)),
                40..=69 => format!("request failed: order {} rejected by risk limits; upstream returned status=503 after {ms} ms", rng.below(1_000_000)),
                // Secrets that must be redacted.
                70..=74 => format!("datasource jdbc:postgresql://dbmaster:Pr0d{:06}@database-service:5432/db_dev initialised for pool HikariPool-1", rng.below(999_999)),
                75..=77 => "payment instrument 4111 1111 1111 1111 tokenised for client account settlement batch".to_string(),
                78..=79 => format!("outbound call Authorization: Bearer {:032x} to market-data adapter", rng.next() as u128 * 7919),
                // Warnings.
                80..=129 => format!("slow downstream call to {} took {ms} ms (threshold 250 ms) for trace {trace}", SERVICES[rng.below(20) as usize]),
                // The ordinary traffic.
                _ => format!(
                    "order {} for account {} {} {} @ {}.{:02} accepted; book depth {} latency {} us",
                    rng.below(10_000_000),
                    rng.below(100_000),
                    if rng.below(2) == 0 { "BUY" } else { "SELL" },
                    rng.below(10_000),
                    rng.below(1000),
                    rng.below(100),
                    rng.below(50),
                    rng.below(5000)
                ),
            };
            let level = match roll {
                0..=69 => "ERROR",
                80..=129 => "WARN",
                _ => "INFO",
            };
            match i % 3 {
                0 => serde_json::json!({
                    "@timestamp": format!("2026-11-24T10:{:02}:{:02}.{:03}Z", (i / 60000) % 60, (i / 1000) % 60, i % 1000),
                    "level": level,
                    "logger_name": format!("com.abc.{}.Service", service.replace('-', "")),
                    "message": body,
                    "traceId": trace,
                    "requestId": request,
                    "duration_ms": ms,
                })
                .to_string(),
                1 => serde_json::json!({
                    "log": format!("2026-11-24 10:00:00.{:03}  {level} 1 --- [nio-8080-exec-{}] [{request}] {body}\n", i % 1000, i % 16),
                    "stream": "stdout",
                    "kubernetes": {
                        "pod_name": format!("{service}-7c9d8-{:05x}", i % 0xfffff),
                        "namespace_name": "trading",
                        "container_name": service,
                        "labels": {"app": service}
                    }
                })
                .to_string(),
                _ => format!("2026-11-24 10:00:00.{:03}  {level} 1 --- [main] [{request}] c.a.{service} : {body}", i % 1000),
            }
        })
        .collect()
}

/// The batch JSON CloudWatch would deliver for these lines.
pub fn batch_json(lines: &[String]) -> String {
    let events: Vec<serde_json::Value> = lines
        .iter()
        .enumerate()
        .map(|(i, m)| {
            serde_json::json!({"id": format!("{:056}", i), "timestamp": 1_763_978_400_000_i64 + i as i64, "message": m})
        })
        .collect();
    serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "111111111111",
        "logGroup": "/aws/containerinsights/abc-trading-dev/application",
        "logStream": "ip-10-0-1-5.ec2.internal-application.var.log.containers",
        "subscriptionFilters": ["abc-trading-dev-logs"],
        "logEvents": events,
    })
    .to_string()
}

/// `awslogs.data` for `count` lines: base64(gzip(batch JSON)).
pub fn awslogs_data(count: usize, seed: u64) -> String {
    let json = batch_json(&lines(count, seed));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(json.as_bytes());
    let gz = gz.finish().unwrap_or_default();
    base64_simd::STANDARD.encode_to_string(gz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_has_the_advertised_shape() {
        let lines = lines(10_000, 42);
        let avg = lines.iter().map(String::len).sum::<usize>() / lines.len();
        assert!((270..=330).contains(&avg), "average line {avg} bytes");
        let errors = lines.iter().filter(|l| l.contains("ERROR")).count();
        assert!((500..=900).contains(&errors), "{errors} errors");
        let data = awslogs_data(10_000, 42);
        assert!(
            (800_000..=1_300_000).contains(&data.len()),
            "{} bytes encoded: about 1 MB, as the issue sets",
            data.len()
        );
        assert_eq!(lines, super::lines(10_000, 42), "deterministic");
    }
}
