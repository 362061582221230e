//! Tracing set-up (JSON lines on Lambda, readable text in a terminal) and where EMF metrics go.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Installs the global subscriber once at `info`; `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`) overrides.
pub fn init() {
    init_with_default("info");
}

/// As [`init`], with another default level (the CLI prints its own results and logs only warnings).
pub fn init_with_default(level: &str) {
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let filter = filter_from(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        level,
    );
    // try_init: a second call (tests, embedded runtime) keeps the first subscriber.
    let _ = if on_lambda {
        let json = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .flatten_event(true)
            .without_time()
            .with_writer(std::io::stderr);
        tracing_subscriber::registry().with(json.with_filter(filter)).try_init()
    } else {
        let text = tracing_subscriber::fmt::layer().with_target(false).compact().with_writer(std::io::stderr);
        tracing_subscriber::registry().with(text.with_filter(filter)).try_init()
    };
}

/// The level filter: `RUST_LOG` if it parses, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `level`.
/// `Targets` takes `level` and `target=level` directives, all RUST_LOG is used for here; span and
/// field filters would need EnvFilter's regex engine in every function binary.
pub fn filter_from(rust_log: Option<&str>, lambda_level: Option<&str>, level: &str) -> Targets {
    rust_log
        .and_then(|d| d.parse().ok())
        .or_else(|| lambda_level.and_then(|l| l.to_lowercase().parse().ok()))
        .or_else(|| level.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

#[cfg(test)]
mod filter_tests {
    use super::filter_from;
    use tracing::Level;

    #[test]
    fn rust_log_then_the_lambda_level_then_the_default() {
        let f = filter_from(Some("warn,platform_ops=debug"), Some("ERROR"), "info");
        assert!(f.would_enable("platform_ops::runtime", &Level::DEBUG));
        assert!(!f.would_enable("aws_config", &Level::INFO));
        let f = filter_from(None, Some("ERROR"), "info");
        assert!(f.would_enable("x", &Level::ERROR) && !f.would_enable("x", &Level::WARN));
        let f = filter_from(Some("=?not a directive"), None, "warn");
        assert!(f.would_enable("x", &Level::WARN) && !f.would_enable("x", &Level::INFO));
    }
}

/// Where a function's EMF documents go: stdout on Lambda (the log agent turns them into metrics),
/// a buffer in tests and in the local runtime.
pub trait MetricsSink: Send + Sync + std::fmt::Debug {
    /// One or more EMF documents, one JSON object per line.
    fn emit(&self, emf: &str);
}

#[derive(Debug, Default)]
pub struct StdoutMetrics;

impl MetricsSink for StdoutMetrics {
    fn emit(&self, emf: &str) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A failed write to stdout has nowhere better to go.
        let _ = out.write_all(emf.as_bytes());
        if !emf.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
    }
}
