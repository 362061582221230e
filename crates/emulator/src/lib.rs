//! Runs the moto AWS emulator on a free loopback port: installed on demand, reset between uses, stopped on drop.

pub mod faults;
pub mod pager;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// moto's default account: the organisation's management account in the local world.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// The emulator's fixed credentials: moto accepts any, and these never leave this machine.
pub const ACCESS_KEY_ID: &str = "AKIAEMULATOR00000000";
pub const SECRET_ACCESS_KEY: &str = "emulator-secret";
/// The region the local world lives in.
pub const DEFAULT_REGION: &str = "us-east-1";
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot install the emulator with {script}: {detail}")]
    Install { script: PathBuf, detail: String },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("emulator exited before it answered on port {port} (status {status}); its output:\n{output}")]
    Exited { port: u16, status: String, output: String },
    #[error("emulator did not answer on port {port} within {seconds} s")]
    Timeout { port: u16, seconds: u64 },
    #[error("emulator request {path} failed: {detail}")]
    Http { path: String, detail: String },
    #[error("emulator endpoint {endpoint} is not a loopback address: the local runtime never talks to real AWS")]
    NotLoopback { endpoint: String },
}

/// A running moto server. Dropping it stops the process.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Emulator {
    /// Starts moto from the project at `root` (the repository), installing the pinned version
    /// into `root/.venv` first if it is missing or out of date.
    pub fn start(root: &Path) -> Result<Emulator, EmulatorError> {
        let program = ensure_installed(root)?;
        // Port 0: the server binds a free port itself and logs it, so no other process can take
        // the port between our choice and its bind, and two tests never share a server.
        let log = std::env::temp_dir().join(format!("platform-ops-moto-{}-{}.log", std::process::id(), next_id()));
        let log_file =
            std::fs::File::create(&log).map_err(|source| EmulatorError::Spawn { program: log.clone(), source })?;
        let log_err = log_file.try_clone().map_err(|source| EmulatorError::Spawn { program: log.clone(), source })?;
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            // Seeding attaches AWS managed policies (EKS roles), which moto only knows when asked.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env_remove("MOTO_ACCOUNT_ID")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|source| EmulatorError::Spawn { program: program.clone(), source })?;
        let mut emulator = Emulator { child, port: 0, log };
        emulator.wait_ready()?;
        tracing::info!(endpoint = %emulator.endpoint_url(), "emulator ready");
        Ok(emulator)
    }

    /// Starts moto for this repository (the workspace this crate was built in).
    pub fn start_for_workspace() -> Result<Emulator, EmulatorError> {
        Self::start(&workspace_root())
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the port moto logs (`Running on http://127.0.0.1:<port>`), then for an answer.
    fn wait_ready(&mut self) -> Result<(), EmulatorError> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(EmulatorError::Exited {
                    port: self.port,
                    status: status.to_string(),
                    output: self.output(),
                });
            }
            if self.port == 0 {
                self.port = logged_port(&self.output()).unwrap_or(0);
            }
            if self.port != 0 {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                    && self.remote().get("/moto-api/data.json").is_ok()
                {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(EmulatorError::Timeout { port: self.port, seconds: START_TIMEOUT.as_secs() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where moto's own output goes, for debugging a failed test.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// A handle on this emulator's HTTP side (bucket helpers, reset, SDK config).
    pub fn remote(&self) -> Remote {
        Remote { endpoint: self.endpoint_url() }
    }

    /// Forgets every resource in every account.
    pub fn reset(&self) -> Result<(), EmulatorError> {
        self.remote().reset()
    }

    /// Creates an S3 bucket (path-style, as moto serves it): destinations for Firehose tests
    /// without pulling the S3 SDK into every test build.
    pub fn create_bucket(&self, bucket: &str) -> Result<(), EmulatorError> {
        self.remote().create_bucket(bucket)
    }

    /// The keys of the objects in `bucket`, sorted.
    pub fn bucket_keys(&self, bucket: &str) -> Result<Vec<String>, EmulatorError> {
        self.remote().bucket_keys(bucket)
    }

    /// An SDK configuration for the emulator as the management account, with fixed test
    /// credentials that never leave this machine.
    pub fn sdk_config(&self) -> SdkConfig {
        self.remote().sdk_config()
    }

    /// Environment for child processes and SDK loaders that read the standard variables.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        self.remote().env_vars()
    }
}

/// An emulator reached by its endpoint: one this process started, or one already running
/// (`platform-ops --endpoint`). Only loopback endpoints are accepted.
#[derive(Debug, Clone)]
pub struct Remote {
    endpoint: String,
}

impl Remote {
    pub fn new(endpoint: &str) -> Result<Remote, EmulatorError> {
        let host = endpoint.strip_prefix("http://").and_then(|rest| rest.split([':', '/']).next()).unwrap_or_default();
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(EmulatorError::NotLoopback { endpoint: endpoint.to_string() });
        }
        Ok(Remote { endpoint: endpoint.trim_end_matches('/').to_string() })
    }

    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// Forgets every resource in every account.
    pub fn reset(&self) -> Result<(), EmulatorError> {
        let path = "/moto-api/reset";
        ureq::post(format!("{}{path}", self.endpoint))
            .send_empty()
            .map_err(|e| EmulatorError::Http { path: path.into(), detail: e.to_string() })?;
        Ok(())
    }

    /// Creates an S3 bucket (path-style, as moto serves it): destinations for Firehose tests
    /// without pulling the S3 SDK into every test build.
    pub fn create_bucket(&self, bucket: &str) -> Result<(), EmulatorError> {
        let path = format!("/{bucket}");
        ureq::put(format!("{}{path}", self.endpoint))
            .send_empty()
            .map_err(|e| EmulatorError::Http { path: path.clone(), detail: e.to_string() })?;
        Ok(())
    }

    /// What moto answers to DescribeImageScanFindings for the images `results_json` names (the
    /// body of its `POST /moto-api/static/ecr/scan-finding-results`): without one, moto answers
    /// a HIGH finding for every scanned image.
    pub fn set_ecr_scan_findings(&self, results_json: &str) -> Result<(), EmulatorError> {
        let path = "/moto-api/static/ecr/scan-finding-results";
        ureq::post(format!("{}{path}", self.endpoint))
            .header("content-type", "application/json")
            .send(results_json)
            .map_err(|e| EmulatorError::Http { path: path.into(), detail: e.to_string() })?;
        Ok(())
    }

    /// The keys of the objects in `bucket`, sorted.
    pub fn bucket_keys(&self, bucket: &str) -> Result<Vec<String>, EmulatorError> {
        let listing = self.get(&format!("/{bucket}?list-type=2"))?;
        let mut keys: Vec<String> =
            listing.split("<Key>").skip(1).filter_map(|rest| rest.split("</Key>").next()).map(str::to_string).collect();
        keys.sort_unstable();
        Ok(keys)
    }

    fn get(&self, path: &str) -> Result<String, EmulatorError> {
        let http = |e: ureq::Error| EmulatorError::Http { path: path.into(), detail: e.to_string() };
        ureq::get(format!("{}{path}", self.endpoint)).call().map_err(http)?.body_mut().read_to_string().map_err(http)
    }

    /// An SDK configuration for the emulator as the management account, with fixed test
    /// credentials that never leave this machine.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(DEFAULT_REGION))
            .endpoint_url(self.endpoint.clone())
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                Credentials::from_keys(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None),
            ))
            .build()
    }

    /// Environment for child processes and SDK loaders that read the standard variables.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", DEFAULT_REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_string()),
        ]
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test keeps moto's log for the post-mortem; a passing one cleans up.
        if std::thread::panicking() {
            eprintln!("emulator log kept at {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The port in werkzeug's start-up line, once it has been written.
fn logged_port(output: &str) -> Option<u16> {
    let rest = output.split("Running on http://127.0.0.1:").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

fn next_id() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The repository root this crate was compiled in.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// `root/.venv/bin/moto_server`, installed or brought to the pinned version by the project's
/// bootstrap script. The script holds a lock and checks the pin stamp, so parallel tests install
/// once and a stale venv is never used; when everything is current it returns in well under a second.
pub fn ensure_installed(root: &Path) -> Result<PathBuf, EmulatorError> {
    let program = root.join(".venv/bin/moto_server");
    let script = root.join("scripts/bootstrap.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg("emulator")
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EmulatorError::Install { script: script.clone(), detail: e.to_string() })?;
    if !output.status.success() || !program.exists() {
        return Err(EmulatorError::Install {
            script,
            detail: format!(
                "exit {}: {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::logged_port;

    #[test]
    fn the_port_is_read_from_the_start_up_line() {
        let log = "WARNING: This is a development server.\n * Running on http://127.0.0.1:39359\nPress CTRL+C";
        assert_eq!(logged_port(log), Some(39359));
        assert_eq!(logged_port("WARNING: This is a development server.\n * Running on http://127.0.0.1:"), None);
        assert_eq!(logged_port(""), None);
    }
}
