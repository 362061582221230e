//! One batch through the pipeline: parse, redact, classify, count, and normalised records out.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, TryLockError};

use serde::Serialize;

use crate::classify::{Action, CatalogueError, Classifier, Severity, Signature};
use crate::decode::{DecodeBuffers, DecodeError, LogBatch, LogEvent, RETAINED_BYTES};
use crate::json::{self, Records};
use crate::metrics::{self, Metrics, ServiceMetrics};
use crate::parse::{self, Level, Record};
use crate::redact::{RedactionCounts, Redactor, RuleError};
use crate::scan::Scanner;
use crate::services::{Services, ServicesError};

/// Where a record's service is unknown or not in the catalogue.
pub const OTHER_SERVICE: &str = "other";
/// Messages beyond this are cut (and counted) so a record always fits Firehose's 1,000 KiB limit.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Characters of the triggering line carried in a detection event.
const SAMPLE_CHARS: usize = 512;
/// Events a worker thread is given at least: below this a thread costs more than it saves.
const EVENTS_PER_WORKER: usize = 1_000;
/// Most workers one batch is split across (Lambda gives at most 6 vCPUs).
const MAX_WORKERS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error(transparent)]
    Services(#[from] ServicesError),
    #[error(transparent)]
    Scanner(#[from] crate::scan::ScannerError),
}

/// A signature seen for a service in this invocation: one event per (service, signature).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub environment: String,
    pub service: String,
    pub signature: String,
    pub severity: Severity,
    pub action: Action,
    pub description: String,
    pub count: u64,
    pub first_seen: i64,
    pub account: String,
    pub log_group: String,
    /// The first matching line, redacted and cut to 512 characters.
    pub sample: String,
}

/// What one invocation produced.
#[derive(Debug, Default)]
pub struct Processed {
    /// Newline-terminated JSON records for Firehose, in one buffer.
    pub records: Records,
    pub metrics: Metrics,
    pub detections: BTreeMap<(String, String), Detection>,
}

impl Processed {
    /// Adds what a later part of the same deliveries produced: its records after these, its
    /// counters summed, its detections counted into the ones already seen (which keep their
    /// first line and time). Gives back `later`'s record buffer, emptied, for reuse.
    pub fn absorb(&mut self, later: Processed) -> Records {
        let mut records = later.records;
        self.records.append(&records);
        records.clear();
        self.metrics.merge(later.metrics);
        for (key, d) in later.detections {
            match self.detections.get_mut(&key) {
                Some(mine) => mine.count += d.count,
                None => {
                    self.detections.insert(key, d);
                }
            }
        }
        records
    }
}

/// Built once per process (Lambda init): compiled rules, catalogue, services and their tiers.
#[derive(Debug)]
pub struct Pipeline {
    environment: String,
    redactor: Redactor,
    classifier: Classifier,
    scanner: Scanner,
    services: Services,
    /// Threads one large batch may be split across (the cores this process may use).
    workers: usize,
    /// Memory kept from one delivery for the next (see [`DecodeBuffers`]): the decode buffers,
    /// and emptied record buffers (one per worker). Apart, as workers take record buffers while
    /// the decode buffers are held.
    decode: Mutex<DecodeBuffers>,
    records: Mutex<Vec<Records>>,
}

impl Pipeline {
    pub fn new(environment: impl Into<String>) -> Result<Pipeline, InitError> {
        Self::with(environment, Redactor::with_default_rules()?, Classifier::with_default_catalogue()?)
    }

    /// As [`Pipeline::new`], splitting large batches across `cores` (already counted: the Lambda
    /// wiring takes the async runtime's count rather than reading the cgroup files again).
    pub fn for_cores(environment: impl Into<String>, cores: usize) -> Result<Pipeline, InitError> {
        Self::assemble(environment, Redactor::with_default_rules()?, Classifier::with_default_catalogue()?, cores)
    }

    pub fn with(
        environment: impl Into<String>,
        redactor: Redactor,
        classifier: Classifier,
    ) -> Result<Pipeline, InitError> {
        // Counts the cgroup's CPU quota too: Lambda below 1,769 MB gets less than one core.
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::assemble(environment, redactor, classifier, cores)
    }

    fn assemble(
        environment: impl Into<String>,
        redactor: Redactor,
        classifier: Classifier,
        cores: usize,
    ) -> Result<Pipeline, InitError> {
        let services = Services::compiled_in()?;
        let scanner = Scanner::new(&redactor, &classifier)?;
        Ok(Pipeline {
            environment: environment.into(),
            redactor,
            classifier,
            scanner,
            services,
            workers: cores.clamp(1, MAX_WORKERS),
            decode: Mutex::default(),
            records: Mutex::default(),
        })
    }

    /// At most `workers` threads per batch (1: every batch on the calling thread).
    pub fn with_workers(mut self, workers: usize) -> Pipeline {
        self.workers = workers.clamp(1, MAX_WORKERS);
        self
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The service catalogue with tiers and latency objectives the metrics are counted by.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// A base64 + gzip payload (`awslogs.data`): decoded, then processed; a payload that cannot
    /// be decoded is counted as dropped and returned as the error, never silently skipped.
    pub fn process_encoded(&self, data: &[u8], out: &mut Processed) -> Result<(), DecodeError> {
        self.decoded(out, |buffers| buffers.awslogs(data))
    }

    /// A gzip payload (a Kinesis record, already base64-decoded by Lambda).
    pub fn process_gzip(&self, gz: &[u8], out: &mut Processed) -> Result<(), DecodeError> {
        self.decoded(out, |buffers| buffers.gzip(gz))
    }

    /// The batch `decode` makes of the kept buffers, processed into `out`; the buffers are then
    /// kept for the next delivery (each use overwrites what they hold before reading it), or
    /// given back if they outgrew [`RETAINED_BYTES`].
    fn decoded(
        &self,
        out: &mut Processed,
        decode: impl for<'b> FnOnce(&'b mut DecodeBuffers) -> Result<LogBatch<'b>, DecodeError>,
    ) -> Result<(), DecodeError> {
        let run = |buffers: &mut DecodeBuffers| {
            let batch = decode(buffers).inspect_err(|e| self.count_drop(e, out))?;
            self.process_batch(&batch, out);
            Ok(())
        };
        // Another thread decoding through this pipeline at the same moment (never in Lambda,
        // which sends a process one event at a time) gets buffers of its own.
        let Some(mut buffers) = kept(&self.decode) else {
            return run(&mut DecodeBuffers::default());
        };
        let result = run(&mut buffers);
        buffers.release();
        result
    }

    /// An empty result to process deliveries into, its record buffer one a previous delivery
    /// gave back with [`Pipeline::recycle`] when there is one.
    pub fn processed(&self) -> Processed {
        let records = kept(&self.records).and_then(|mut kept| kept.pop()).unwrap_or_default();
        Processed { records, ..Processed::default() }
    }

    /// Keeps `records`' memory (emptied) for a later [`Pipeline::processed`], unless it grew past
    /// what is kept between deliveries or enough buffers are kept already.
    pub fn recycle(&self, mut records: Records) {
        if records.capacity_bytes() > RETAINED_BYTES {
            return;
        }
        records.clear();
        if let Some(mut kept) = kept(&self.records)
            && kept.len() < MAX_WORKERS
        {
            kept.push(records);
        }
    }

    fn count_drop(&self, e: &DecodeError, out: &mut Processed) {
        *out.metrics.dropped.entry(e.kind()).or_default() += 1;
    }

    /// One batch: large ones split into contiguous parts processed on their own threads and
    /// joined in order, so the output is the same as on one thread.
    pub fn process_batch(&self, batch: &LogBatch<'_>, out: &mut Processed) {
        if batch.is_control() {
            out.metrics.control_messages += 1;
            return;
        }
        // The owner is the account for every event of the batch.
        let account = Some(&*batch.owner).filter(|o| metrics::is_account_id(o));
        if account.is_none() {
            out.metrics.unattributed_batches += 1;
        }
        // The fields every record of the batch shares, escaped once.
        let mut shared = Vec::new();
        json::push_field(&mut shared, "environment", &self.environment);
        json::push_field(&mut shared, "account", &batch.owner);
        json::push_field(&mut shared, "log_group", &batch.log_group);
        json::push_field(&mut shared, "log_stream", &batch.log_stream);
        let shared = &shared[..];
        let events = &batch.log_events[..];
        // Room for every record of the batch at once: appending a split batch's later parts
        // then copies each once.
        reserve(&mut out.records, events, shared.len());
        let workers = self.workers.min(events.len() / EVENTS_PER_WORKER).max(1);
        if workers == 1 {
            self.process_events(batch, events, account, shared, out);
            return;
        }
        let mut parts = events.chunks(events.len().div_ceil(workers));
        let first = parts.next().unwrap_or_default();
        let run = move |part: &[LogEvent<'_>]| {
            let mut done = self.processed();
            self.process_events(batch, part, account, shared, &mut done);
            done
        };
        let later: Vec<Processed> = std::thread::scope(|scope| {
            // A thread the system will not give is no reason to fail: that part runs here,
            // after the first.
            let spawned: Vec<_> = parts
                .map(|part| std::thread::Builder::new().spawn_scoped(scope, move || run(part)).map_err(|_| part))
                .collect();
            self.process_events(batch, first, account, shared, out);
            spawned
                .into_iter()
                .map(|handle| match handle {
                    Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    Err(part) => run(part),
                })
                .collect()
        });
        for part in later {
            self.recycle(out.absorb(part));
        }
    }

    /// `events` of `batch` into `out`: parsed, redacted, classified, counted, written, each
    /// record with the batch's `shared` fields.
    fn process_events(
        &self,
        batch: &LogBatch<'_>,
        events: &[LogEvent<'_>],
        account: Option<&str>,
        shared: &[u8],
        out: &mut Processed,
    ) {
        let group_service = parse::service_from_log_group(&batch.log_group);
        let mut counts: RedactionCounts = self.redactor.new_counts();
        let mut hits = Vec::new();
        let mut more = Vec::new();
        let mut scan = crate::scan::Scan::default();
        reserve(&mut out.records, events, shared.len());
        let signatures = self.classifier.signatures();
        // Counted by the service's slot in the catalogue (the last: any other service) and added
        // to the output's map once per batch: a map lookup per event cost more than the counting.
        let mut by_slot = vec![ServiceMetrics::default(); self.services.len() + 1];
        let other = self.services.len();
        let mut tally = self.services.tally();
        for event in events {
            let record = parse::parse_line(&event.message, event.timestamp, group_service);
            let (slot, service, tier) =
                record.service.as_deref().and_then(|s| self.services.slot(s)).unwrap_or((other, OTHER_SERVICE, None));

            let before = counts.total();
            let (message, truncated) = cut(&record.message);
            self.scanner.scan_into(message, &mut scan);
            let message = self.redactor.redact_armed(message, scan.armed, &mut counts);
            self.classifier.evaluate(&message, &scan.seen, &mut hits);
            let stack_trace = record.stack_trace.as_deref().map(|s| {
                let trace = cut(s).0;
                self.scanner.scan_into(trace, &mut scan);
                let trace = self.redactor.redact_armed(trace, scan.armed, &mut counts);
                self.classifier.evaluate(&trace, &scan.seen, &mut more);
                for i in more.drain(..) {
                    if !hits.contains(&i) {
                        hits.push(i);
                    }
                }
                trace
            });

            let error = record.level >= Level::Error;
            self.services.count(&mut tally, tier, error, record.duration_ms);
            let m = &mut by_slot[slot];
            m.events += 1;
            m.bytes += event.message.len() as u64;
            m.errors += u64::from(error);
            m.warnings += u64::from(record.level == Level::Warn);
            m.redactions += counts.total() - before;
            m.truncated += u64::from(truncated);
            m.malformed += u64::from(record.malformed);
            if let Some(d) = record.duration_ms {
                m.durations_ms.push(d);
            }
            for &i in &hits {
                let sig = &signatures[i];
                match m.signatures.get_mut(&*sig.name) {
                    Some(n) => *n += 1,
                    None => {
                        m.signatures.insert(sig.name.to_string(), 1);
                    }
                }
                if sig.action == Action::Count {
                    continue;
                }
                out.detections
                    .entry((service.to_string(), sig.name.to_string()))
                    .and_modify(|d| d.count += 1)
                    .or_insert_with(|| Detection {
                        environment: self.environment.clone(),
                        service: service.to_string(),
                        signature: sig.name.to_string(),
                        severity: sig.severity,
                        action: sig.action,
                        description: sig.description.to_string(),
                        count: 1,
                        first_seen: event.timestamp,
                        account: batch.owner.to_string(),
                        log_group: batch.log_group.to_string(),
                        sample: message.chars().take(SAMPLE_CHARS).collect(),
                    });
            }

            let written = Written { service, message: &message, stack_trace: stack_trace.as_deref(), hits: &hits };
            write_record(out.records.buffer(), event.timestamp, shared, &record, &written, signatures);
            out.records.finish();
        }
        let services = match account {
            Some(id) => &mut out.metrics.account(id).services,
            None => &mut out.metrics.unattributed,
        };
        let names = self.services.names().chain([OTHER_SERVICE]);
        for (name, counted) in names.zip(by_slot) {
            if counted.events > 0 {
                metrics::service(services, name).add(counted);
            }
        }
        // Tiers need an account to be a dimension of; an unattributed batch is counted as one.
        if let Some(id) = account {
            self.services.add_tally(&tally, &mut out.metrics.account(id).tiers);
        }
        out.metrics.untiered += tally.untiered;
        for (rule, n) in self.redactor.rule_names().zip(&counts.0) {
            if *n > 0 {
                *out.metrics.redactions_by_rule.entry(rule.to_string()).or_default() += n;
            }
        }
    }
}

/// Memory kept between deliveries, unless another thread holds it. A panic while it was held
/// leaves only buffers behind, which are emptied before each use: the poison is cleared.
fn kept<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(kept) => Some(kept),
        Err(TryLockError::Poisoned(poisoned)) => {
            mutex.clear_poison();
            Some(poisoned.into_inner())
        }
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Room in `records` for `events`, each about its message plus `shared` bytes and the fields.
fn reserve(records: &mut json::Records, events: &[LogEvent<'_>], shared: usize) {
    let raw_bytes: usize = events.iter().map(|e| e.message.len()).sum();
    records.reserve(events.len(), raw_bytes + events.len() * (shared + 96));
}

/// What a record carries besides the parsed line: its service, its redacted texts, its signatures.
struct Written<'a> {
    service: &'a str,
    message: &'a str,
    stack_trace: Option<&'a str>,
    hits: &'a [usize],
}

/// One normalised record as a JSON object into `line` (no newline). Not inlined, so that a
/// profile shows the output stage as its own.
#[inline(never)]
fn write_record(
    line: &mut Vec<u8>,
    timestamp: i64,
    shared: &[u8],
    record: &Record<'_>,
    w: &Written<'_>,
    signatures: &[Signature],
) {
    line.extend_from_slice(b"{\"timestamp\":");
    json::push_i64(line, timestamp);
    line.extend_from_slice(shared);
    json::push_field(line, "service", w.service);
    json::push_plain_field(line, "level", record.level.as_str());
    json::push_plain_field(line, "format", record.format.as_str());
    json::push_field(line, "message", w.message);
    let optional = [
        ("logger", record.logger.as_deref()),
        ("trace_id", record.trace_id.as_deref()),
        ("stack_trace", w.stack_trace),
        ("pod", record.pod.as_deref()),
        ("namespace", record.namespace.as_deref()),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            json::push_field(line, key, value);
        }
    }
    if let Some(d) = record.duration_ms {
        line.extend_from_slice(b",\"duration_ms\":");
        json::push_f64(line, d);
    }
    if !w.hits.is_empty() {
        line.extend_from_slice(b",\"signatures\":[");
        for (k, &i) in w.hits.iter().enumerate() {
            if k > 0 {
                line.push(b',');
            }
            json::push_str(line, &signatures[i].name);
        }
        line.push(b']');
    }
    line.push(b'}');
}

/// `text` cut to [`MAX_MESSAGE_BYTES`] on a character boundary, and whether it was cut.
fn cut(text: &str) -> (&str, bool) {
    if text.len() <= MAX_MESSAGE_BYTES {
        return (text, false);
    }
    let end = (0..=MAX_MESSAGE_BYTES).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    (&text[..end], true)
}
