//! Runs the moto AWS emulator on a free loopback port: installed on demand, reset between uses, stopped on drop.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// moto's default account: the organisation's management account in the local world.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// The region the local world lives in.
pub const DEFAULT_REGION: &str = "us-east-1";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const START_ATTEMPTS: usize = 3;

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
    #[error("no free loopback port: {0}")]
    Port(#[source] std::io::Error),
    #[error("emulator request {path} failed: {detail}")]
    Http { path: String, detail: String },
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
    /// into `root/.venv` first if it is missing.
    pub fn start(root: &Path) -> Result<Emulator, EmulatorError> {
        let program = ensure_installed(root)?;
        let mut last = None;
        // A free port can be taken between our probe and moto's bind: try a few.
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&program) {
                Ok(emulator) => return Ok(emulator),
                Err(e @ EmulatorError::Exited { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(EmulatorError::Timeout { port: 0, seconds: START_TIMEOUT.as_secs() }))
    }

    /// Starts moto for this repository (the workspace this crate was built in).
    pub fn start_for_workspace() -> Result<Emulator, EmulatorError> {
        Self::start(&workspace_root())
    }

    fn start_once(program: &Path) -> Result<Emulator, EmulatorError> {
        let port = free_port()?;
        let log = std::env::temp_dir().join(format!("platform-ops-moto-{port}-{}.log", std::process::id()));
        let log_file =
            std::fs::File::create(&log).map_err(|source| EmulatorError::Spawn { program: log.clone(), source })?;
        let log_err = log_file.try_clone().map_err(|source| EmulatorError::Spawn { program: log.clone(), source })?;
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Seeding attaches AWS managed policies (EKS roles), which moto only knows when asked.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env_remove("MOTO_ACCOUNT_ID")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|source| EmulatorError::Spawn { program: program.to_path_buf(), source })?;
        let mut emulator = Emulator { child, port, log };
        emulator.wait_ready()?;
        tracing::info!(endpoint = %emulator.endpoint_url(), "emulator ready");
        Ok(emulator)
    }

    fn wait_ready(&mut self) -> Result<(), EmulatorError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut output = String::new();
                if let Ok(mut f) = std::fs::File::open(&self.log) {
                    let _ = f.read_to_string(&mut output);
                }
                return Err(EmulatorError::Exited { port: self.port, status: status.to_string(), output });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && self.get("/moto-api/data.json").is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
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

    /// Forgets every resource in every account.
    pub fn reset(&self) -> Result<(), EmulatorError> {
        let path = "/moto-api/reset";
        ureq::post(format!("{}{path}", self.endpoint_url()))
            .send_empty()
            .map_err(|e| EmulatorError::Http { path: path.into(), detail: e.to_string() })?;
        Ok(())
    }

    fn get(&self, path: &str) -> Result<String, EmulatorError> {
        let http = |e: ureq::Error| EmulatorError::Http { path: path.into(), detail: e.to_string() };
        ureq::get(format!("{}{path}", self.endpoint_url()))
            .call()
            .map_err(http)?
            .body_mut()
            .read_to_string()
            .map_err(http)
    }

    /// An SDK configuration for the emulator as the management account, with fixed test
    /// credentials that never leave this machine.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(DEFAULT_REGION))
            .endpoint_url(self.endpoint_url())
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                Credentials::from_keys("AKIAEMULATOR00000000", "emulator-secret", None),
            ))
            .build()
    }

    /// Environment for child processes and SDK loaders that read the standard variables.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint_url()),
            ("AWS_REGION", DEFAULT_REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", "AKIAEMULATOR00000000".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "emulator-secret".to_string()),
        ]
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The repository root this crate was compiled in.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// `root/.venv/bin/moto_server`, installing it with the project's bootstrap script when missing.
/// The script takes a lock, so parallel tests install once.
pub fn ensure_installed(root: &Path) -> Result<PathBuf, EmulatorError> {
    let program = root.join(".venv/bin/moto_server");
    if program.exists() {
        return Ok(program);
    }
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

fn free_port() -> Result<u16, EmulatorError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(EmulatorError::Port)?;
    Ok(listener.local_addr().map_err(EmulatorError::Port)?.port())
}
