//! Tracing set-up (JSON lines on Lambda, readable text in a terminal) and where EMF metrics go.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once at `info`; `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`) overrides.
pub fn init() {
    init_with_default("info");
}

/// As [`init`], with another default level (the CLI prints its own results and logs only warnings).
pub fn init_with_default(level: &str) {
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| EnvFilter::new(l.to_lowercase())))
        .unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // try_init: a second call (tests, embedded runtime) keeps the first subscriber.
    let _ = if on_lambda {
        builder.json().with_current_span(false).flatten_event(true).without_time().try_init()
    } else {
        builder.with_target(false).compact().try_init()
    };
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
