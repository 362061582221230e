//! What happened, in order: events, the rules they matched, executions and their states, results.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{Dispatch, Outcome};

/// One line of the timeline, indented under what caused it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub depth: usize,
    pub kind: &'static str,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Entry {
    pub fn event(bus: &str, event: &Value) -> Entry {
        Entry { depth: 0, kind: "event", text: format!("event {} on {bus}", describe(event)), details: Vec::new() }
    }

    pub fn published(bus: &str, event: &Value) -> Entry {
        let detail = event.get("detail").map(|d| truncate(&d.to_string(), 140)).unwrap_or_default();
        Entry {
            depth: 1,
            kind: "published",
            text: format!("published {} on {bus}", describe(event)),
            details: vec![detail],
        }
    }

    pub fn logs(group: &str, lines: usize) -> Entry {
        Entry { depth: 0, kind: "logs", text: format!("logs: {lines} line(s) written to {group}"), details: Vec::new() }
    }

    pub fn note(depth: usize, text: String) -> Entry {
        Entry { depth, kind: "note", text, details: Vec::new() }
    }

    pub fn dispatch(d: &Dispatch) -> Entry {
        let (text, details) = match &d.outcome {
            Outcome::Invoked { output, metrics } => {
                // A summary the function wrote for people says more than the whole output.
                let result =
                    match (output.get("kind").and_then(Value::as_str), output.get("summary").and_then(Value::as_str)) {
                        (Some(kind), Some(summary)) if !summary.is_empty() => format!("{kind}: {summary}"),
                        _ => format!("result {}", truncate(&output.to_string(), 160)),
                    };
                let mut details = vec![result];
                details.extend(metrics.iter().map(metric_line));
                (format!("{} -> function {}: ok", d.via, d.target), details)
            }
            Outcome::InvokeFailed { error, cause } => {
                (format!("{} -> function {}: FAILED {error}", d.via, d.target), vec![truncate(cause, 160)])
            }
            Outcome::Execution { status, error, cause, transitions, duration_s, output } => (
                format!(
                    "{} -> state machine {}: {status}{} ({transitions} transitions, {} on the virtual clock)",
                    d.via,
                    d.target,
                    error.as_deref().map(|e| format!(" {e}")).unwrap_or_default(),
                    duration_text(Duration::from_secs_f64(*duration_s))
                ),
                // A summary the flow wrote for people says more than the whole output.
                output
                    .as_ref()
                    .map(|o| match o.get("summary").and_then(Value::as_str) {
                        Some(summary) => {
                            format!("{}: {summary}", o.get("kind").and_then(Value::as_str).unwrap_or("output"))
                        }
                        None => format!("output {}", truncate(&o.to_string(), 160)),
                    })
                    .into_iter()
                    .chain(
                        cause
                            .as_deref()
                            .filter(|c| !c.is_empty())
                            .map(|c| format!("cause: {}", truncate(&readable(c), 300))),
                    )
                    .collect(),
            ),
        };
        let mut details = details;
        if !d.aws_changes.is_empty() {
            details.push(format!("AWS changes: {}", d.aws_changes.join(", ")));
        }
        if !d.aws_reads.is_empty() {
            details.push(format!("AWS reads: {}", d.aws_reads.join(", ")));
        }
        Entry { depth: 1, kind: "dispatch", text, details }
    }

    /// An execution's states with their entry times and durations on the virtual clock.
    pub fn execution(depth: usize, e: &asl::Execution) -> Entry {
        let mut details = Vec::new();
        let mut open: Vec<(String, chrono::DateTime<chrono::Utc>)> = Vec::new();
        for h in &e.history {
            let Some(state) = &h.state else { continue };
            if h.kind.ends_with("StateEntered") {
                open.push((state.clone(), h.timestamp));
            } else if h.kind.ends_with("StateExited") || h.kind.ends_with("StateFailed") {
                if let Some(i) = open.iter().rposition(|(s, _)| s == state) {
                    let (name, entered) = open.remove(i);
                    let took = (h.timestamp - entered).to_std().unwrap_or_default();
                    let at = (entered - e.started).to_std().unwrap_or_default();
                    details.push(format!("+{:<8} {name} ({})", duration_text(at), duration_text(took)));
                }
            } else if h.kind.ends_with("Failed") && h.kind != "ExecutionFailed" {
                let error = h.details.get("error").and_then(Value::as_str).unwrap_or_default();
                // The cause says which value was refused: worth a line of its own to people.
                let cause = h.details.get("cause").and_then(Value::as_str).filter(|c| !c.is_empty()).map(readable);
                match cause {
                    Some(cause) => details.push(format!("  {} {state}: {error}: {}", h.kind, truncate(&cause, 200))),
                    None => details.push(format!("  {} {state}: {error}", h.kind)),
                }
            }
        }
        Entry { depth, kind: "execution", text: format!("execution {} ({:?})", e.name, e.status), details }
    }
}

fn describe(event: &Value) -> String {
    let text = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    format!("{} / {}", text("source"), text("detail-type"))
}

fn metric_line(doc: &Value) -> String {
    let text = |k: &str| doc.get(k).and_then(Value::as_str);
    let service = match (text("Service"), text("Tier")) {
        (Some(s), _) => s.to_string(),
        (None, Some(t)) => format!("tier {t}"),
        (None, None) => "(all)".to_string(),
    };
    // Every directive's metrics: a document may carry several dimension sets.
    let names: Vec<String> = doc
        .pointer("/_aws/CloudWatchMetrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("Metrics").and_then(Value::as_array))
        .flatten()
        .filter_map(|m| m.get("Name").and_then(Value::as_str))
        .filter_map(|n| doc.get(n).and_then(Value::as_f64).filter(|v| *v != 0.0).map(|v| format!("{n}={v}")))
        .collect();
    format!("metrics {service}: {}", names.join(" "))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}...")
}

/// `0s`, `1.5s`, `2m05s`, `1h02m`.
pub fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if d.subsec_millis() > 0 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{s}s")
    }
}

/// The runtime's timeline, appended to as things happen.
#[derive(Debug, Default)]
pub struct Timeline(Mutex<Vec<Entry>>);

impl Timeline {
    pub fn push(&self, entry: Entry) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Everything recorded since `mark` (an earlier `len()`).
    pub fn since(&self, mark: usize) -> Vec<Entry> {
        self.entries().into_iter().skip(mark).collect()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Entries as an indented tree.
#[derive(Debug)]
pub struct Rendered<'a>(pub &'a [Entry]);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in self.0 {
            let indent = "   ".repeat(e.depth);
            let mark = if e.depth == 0 { "*" } else { "└" };
            writeln!(f, "{indent}{mark} {}", e.text)?;
            for d in &e.details {
                writeln!(f, "{indent}    {d}")?;
            }
        }
        Ok(())
    }
}

/// A failure's cause as people read it: a Lambda's error document is its message, a child
/// execution's description its own error and cause; anything else as it is.
pub fn readable(cause: &str) -> String {
    let Ok(doc) = serde_json::from_str::<Value>(cause) else { return cause.to_string() };
    if let Some(message) = doc.get("errorMessage").and_then(Value::as_str) {
        return message.to_string();
    }
    match (doc.get("Error").and_then(Value::as_str), doc.get("Cause").and_then(Value::as_str)) {
        (Some(error), Some(inner)) => format!("{error}: {}", readable(inner)),
        _ => cause.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(Duration::from_secs(0)), "0s");
        assert_eq!(duration_text(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration_text(Duration::from_secs(125)), "2m05s");
        assert_eq!(duration_text(Duration::from_secs(3720)), "1h02m");
    }
}
