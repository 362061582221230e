//! Cold starts measured: each function binary from process start to its first request for work, beside hello world.

// Lambda reports a cold start's Init Duration as the time from the runtime process starting to its
// first `GET /runtime/invocation/next`. This measures exactly that against a Runtime API stand-in
// on loopback: spawn, wait for the request, kill. The functions that read the published config at
// init reach the emulator for it, as they reach SSM on AWS; that read is part of their init.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// The hello-world baseline's binary (crates/hello-lambda).
pub const HELLO: &str = "hello-lambda";
/// A function that has not asked for work by then has failed to start.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Where each round's order of starts comes from (any fixed value: a run repeats its orders).
const ORDER_SEED: u64 = 0x1417_2026;
/// The Runtime API path a function polls for its next event.
const NEXT: &str = "/2018-06-01/runtime/invocation/next";

#[derive(Debug, thiserror::Error)]
pub enum InitBenchError {
    #[error("{binary}: not found; build it first (scripts/init-bench.sh builds every binary with --release)")]
    Missing { binary: String },
    #[error("cannot run {binary}")]
    Spawn {
        binary: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot copy {binary} to measure it")]
    Stage {
        binary: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the runtime api stand-in cannot listen on loopback")]
    Listen(#[source] std::io::Error),
    #[error("{binary} did not start: {reason}")]
    Failed { binary: String, reason: String },
    #[error("no function `{name}` to compare a candidate with (known: {known})")]
    UnknownFunction { name: String, known: String },
}

/// One binary to start: what it is called in the table, where it is, what it is given.
#[derive(Debug, Clone)]
pub struct InitTarget {
    pub function: String,
    pub binary: PathBuf,
    pub environment: BTreeMap<String, String>,
    /// The memory Lambda gives it (AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
    pub memory_mb: u32,
}

/// One binary's cold starts.
#[derive(Debug, Clone, Serialize)]
pub struct InitRow {
    pub function: String,
    pub binary: String,
    pub binary_bytes: u64,
    pub samples: usize,
    pub min_ms: f64,
    pub median_ms: f64,
    pub p90_ms: f64,
    /// Median over hello world's median, measured in the same run.
    pub ratio: f64,
}

/// `rounds` cold starts of every target, interleaved (one of each per round, so drift in the
/// machine's load touches all alike), with variables `common` given to all. The first target is
/// the baseline the ratios are taken against.
///
/// Each round starts the targets in an order of its own (shuffled, from a fixed seed, so a run
/// repeats): in one fixed order, the same build measured 0.1 ms slower two places after the
/// alarm scaler than at the end of the round (what the kernel still does for a process just
/// killed lands on the next starts), a bias the ratios then carried.
pub fn measure(
    targets: &[InitTarget],
    common: &BTreeMap<String, String>,
    rounds: usize,
) -> Result<Vec<InitRow>, InitBenchError> {
    for t in targets {
        if !t.binary.is_file() {
            return Err(InitBenchError::Missing { binary: t.binary.display().to_string() });
        }
    }
    let staged = Staged::copy(targets)?;
    let targets = &staged.targets;
    let api = RuntimeApi::start()?;
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); targets.len()];
    let mut order: Vec<usize> = (0..targets.len()).collect();
    let mut shuffle = fastrand::Rng::with_seed(ORDER_SEED);
    // One unmeasured start each first: page cache and dynamic loader warm for all alike.
    for round in 0..=rounds {
        shuffle.shuffle(&mut order);
        for &i in &order {
            let took = api.cold_start(&targets[i], common)?;
            if round > 0 {
                samples[i].push(took.as_secs_f64() * 1e3);
            }
        }
    }
    let stats: Vec<(f64, f64, f64)> = samples.iter_mut().map(|s| summary(s)).collect();
    let baseline = stats.first().map_or(f64::NAN, |s| s.1);
    Ok(targets
        .iter()
        .zip(stats)
        .map(|(t, (min_ms, median_ms, p90_ms))| InitRow {
            function: t.function.clone(),
            binary: t.binary.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            binary_bytes: std::fs::metadata(&t.binary).map(|m| m.len()).unwrap_or(0),
            samples: rounds,
            min_ms,
            median_ms,
            p90_ms,
            ratio: median_ms / baseline,
        })
        .collect())
}

/// Every target's binary copied into a directory of its own, removed when done. The same bytes
/// measured 0.1 ms apart at cold start from two files (one copied a while before, its pages in
/// the page cache in another state); copies written one after the other are read alike.
#[derive(Debug)]
struct Staged {
    dir: PathBuf,
    targets: Vec<InitTarget>,
}

impl Staged {
    fn copy(targets: &[InitTarget]) -> Result<Staged, InitBenchError> {
        let dir = std::env::temp_dir().join(format!("init-bench-bins-{}", std::process::id()));
        let mut staged = Staged { dir, targets: Vec::with_capacity(targets.len()) };
        for (i, t) in targets.iter().enumerate() {
            let binary = t.binary.display().to_string();
            let failed = |source| InitBenchError::Stage { binary: binary.clone(), source };
            // Its own directory keeps the file name (the process's name) of two builds of one binary.
            let into = staged.dir.join(i.to_string());
            std::fs::create_dir_all(&into).map_err(failed)?;
            let copy = into.join(t.binary.file_name().unwrap_or(t.binary.as_os_str()));
            std::fs::copy(&t.binary, &copy).map_err(failed)?;
            staged.targets.push(InitTarget { binary: copy, ..t.clone() });
        }
        Ok(staged)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Minimum, median and 90th percentile (nearest rank) of `s`, sorted in place.
fn summary(s: &mut [f64]) -> (f64, f64, f64) {
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s.get(((s.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN);
    (s.first().copied().unwrap_or(f64::NAN), at(0.5), at(0.9))
}

/// The Runtime API stand-in: accepts connections, and reports each request line with the
/// instant its head was read in full.
#[derive(Debug)]
struct RuntimeApi {
    address: String,
    requests: mpsc::Receiver<(Instant, String, String)>,
    /// Where the binary being started writes its stderr (read when it fails to start).
    stderr: PathBuf,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.stderr);
    }
}

impl RuntimeApi {
    fn start() -> Result<RuntimeApi, InitBenchError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(InitBenchError::Listen)?;
        let address = listener.local_addr().map_err(InitBenchError::Listen)?.to_string();
        let (tx, requests) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(request) = read_request(stream)
                    && tx.send(request).is_err()
                {
                    return;
                }
            }
        });
        let stderr = std::env::temp_dir().join(format!("init-bench-{}.stderr", std::process::id()));
        Ok(RuntimeApi { address, requests, stderr })
    }

    /// Spawns `target` and waits for its first request: the init duration, or why it failed.
    fn cold_start(&self, target: &InitTarget, common: &BTreeMap<String, String>) -> Result<Duration, InitBenchError> {
        let binary = target.binary.display().to_string();
        // Anything left from a previous start (a late request) is not this start's.
        while self.requests.try_recv().is_ok() {}
        let log = std::fs::File::create(&self.stderr)
            .map_err(|source| InitBenchError::Spawn { binary: binary.clone(), source })?;
        let mut command = Command::new(&target.binary);
        command
            .env_clear()
            .envs(common)
            .envs(&target.environment)
            .env("AWS_LAMBDA_RUNTIME_API", &self.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", &target.function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", target.memory_mb.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let start = Instant::now();
        let child = command.spawn().map_err(|source| InitBenchError::Spawn { binary: binary.clone(), source })?;
        let mut child = Killed(child);
        let failed = |reason: String| InitBenchError::Failed { binary: binary.clone(), reason };
        loop {
            match self.requests.recv_timeout(Duration::from_millis(20)) {
                Ok((at, line, _)) if line.starts_with("GET ") && line.contains(NEXT) => {
                    return Ok(at.saturating_duration_since(start));
                }
                Ok((_, line, body)) => return Err(failed(format!("asked `{line}` first: {body}"))),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.0.try_wait() {
                        let said = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                        return Err(failed(format!("exited ({status}) before asking for work: {}", said.trim())));
                    }
                    if start.elapsed() > INIT_TIMEOUT {
                        return Err(failed(format!("no request for work within {INIT_TIMEOUT:?}")));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(failed("the stand-in stopped".into())),
            }
        }
    }
}

/// A child killed and reaped when the measurement is done with it, whatever happened.
#[derive(Debug)]
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The request line of one connection's first request, when its head was read, and its body
/// (an init error's report) when it has one.
fn read_request(stream: TcpStream) -> Option<(Instant, String, String)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let at = Instant::now();
    let mut body = vec![0u8; length.min(64 * 1024)];
    let _ = reader.read_exact(&mut body);
    Some((at, line.trim().to_string(), String::from_utf8_lossy(&body).into_owned()))
}

/// The function binaries of the template (logical id, binary, environment, memory) plus the
/// hello-world baseline first, all from `bin_dir`.
pub fn targets(
    bin_dir: &Path,
    functions: impl IntoIterator<Item = (String, String, BTreeMap<String, String>)>,
    memory_mb: u32,
) -> Vec<InitTarget> {
    let hello = InitTarget {
        function: "hello world".into(),
        binary: bin_dir.join(HELLO),
        environment: BTreeMap::new(),
        memory_mb,
    };
    std::iter::once(hello)
        .chain(functions.into_iter().map(|(function, binary, environment)| InitTarget {
            function,
            binary: bin_dir.join(binary),
            environment,
            memory_mb,
        }))
        .collect()
}

/// `targets` followed by each candidate: another build of a function (named by its logical id or
/// its binary) started with that function's environment, so two builds of one function are
/// measured side by side, interleaved, in one run.
pub fn with_candidates(
    mut targets: Vec<InitTarget>,
    candidates: &[(String, PathBuf)],
) -> Result<Vec<InitTarget>, InitBenchError> {
    for (name, binary) in candidates {
        let named = |t: &&InitTarget| t.function == *name || t.binary.file_name().is_some_and(|f| f == name.as_str());
        let Some(of) = targets.iter().find(named) else {
            let known: Vec<&str> = targets.iter().map(|t| t.function.as_str()).collect();
            return Err(InitBenchError::UnknownFunction { name: name.clone(), known: known.join(", ") });
        };
        let candidate =
            InitTarget { function: format!("{} (candidate)", of.function), binary: binary.clone(), ..of.clone() };
        targets.push(candidate);
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_takes_nearest_ranks() {
        let mut s = [5.0, 1.0, 3.0, 2.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(summary(&mut s), (1.0, 5.0, 9.0));
        assert!(summary(&mut []).0.is_nan());
    }

    /// A candidate takes its function's environment, found by logical id or by binary name; an
    /// unknown name is refused with the names there are.
    #[test]
    fn a_candidate_is_started_as_its_function() {
        let env: BTreeMap<String, String> = [("DELIVERY_STREAM_NAME".to_string(), "s".to_string())].into();
        let functions = [("LogProcessorFunction".to_string(), "log-processor".to_string(), env.clone())];
        let all = targets(Path::new("/bin"), functions, 512);
        let candidates = [
            ("LogProcessorFunction".to_string(), PathBuf::from("/tmp/a/log-processor")),
            ("log-processor".to_string(), PathBuf::from("/tmp/b/log-processor")),
        ];
        let all = with_candidates(all, &candidates).expect("both found");
        assert_eq!(all.len(), 4);
        for (t, dir) in all[2..].iter().zip(["/tmp/a", "/tmp/b"]) {
            assert_eq!(t.function, "LogProcessorFunction (candidate)");
            assert_eq!((t.binary.parent(), &t.environment), (Some(Path::new(dir)), &env));
        }
        let err = with_candidates(all, &[("nope".into(), PathBuf::from("/x"))]).expect_err("unknown");
        assert!(err.to_string().contains("`nope`") && err.to_string().contains("LogProcessorFunction"), "{err}");
    }

    #[test]
    fn a_missing_binary_is_named() {
        let t = targets(Path::new("/nonexistent"), [], 128);
        let err = measure(&t, &BTreeMap::new(), 1).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/hello-lambda"), "{err}");
    }

    /// The stand-in times a process that asks for work, and reports one that exits first with
    /// what it said: a shell script plays the function.
    #[test]
    fn the_stand_in_times_a_request_and_reports_an_early_exit() {
        let dir = std::env::temp_dir().join(format!("init-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let script = |name: &str, body: &str| {
            let path = dir.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
            std::process::Command::new("chmod").arg("+x").arg(&path).status().expect("chmod");
            path
        };
        let asks = script(
            "asks",
            "exec python3 -c \"import os,socket; h,p=os.environ['AWS_LAMBDA_RUNTIME_API'].split(':'); \
             s=socket.create_connection((h,int(p))); s.sendall(b'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); \
             import time; time.sleep(5)\"",
        );
        let exits = script("exits", "echo 'no region' >&2; exit 3");
        let api = RuntimeApi::start().expect("listens");
        let target =
            |binary: PathBuf| InitTarget { function: "f".into(), binary, environment: BTreeMap::new(), memory_mb: 128 };
        let common: BTreeMap<String, String> = [("PATH".to_string(), std::env::var("PATH").unwrap_or_default())].into();
        let took = api.cold_start(&target(asks), &common).expect("asked");
        assert!(took > Duration::ZERO && took < INIT_TIMEOUT, "{took:?}");
        let err = api.cold_start(&target(exits), &common).expect_err("exits");
        assert!(err.to_string().contains("no region"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
