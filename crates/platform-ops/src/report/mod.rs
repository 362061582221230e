//! Execution reports: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched) of every execution the local runtime ran.

// The page has a summary, the waves × accounts grid of each fleet release, the executions on the
// virtual clock, and each state machine's graph with the path its executions took. Executions of
// one machine that went the same way (same states entered, same failures) share one graph and a
// table of their names, so a fleet of hundreds of accounts costs a few graphs, not hundreds.
// Everything that came from an execution (names, inputs, errors, causes) is escaped.

pub mod fleet;
pub mod gantt;
pub mod graph;
pub mod trace;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::runtime::record::Recorded;
use crate::runtime::timeline::duration_text;
use trace::Trace;

/// `s` safe in HTML text and in a quoted attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One recorded execution with what the report reads from it.
#[derive(Debug)]
pub struct Run<'a> {
    pub rec: &'a Recorded,
    pub trace: Trace,
    pub waves: Option<Vec<fleet::Wave>>,
    /// The execution that started it, when it was recorded too.
    pub parent: Option<usize>,
    /// What it started, in the order they started.
    pub children: Vec<usize>,
    pub depth: usize,
}

impl Run<'_> {
    fn start(&self) -> DateTime<Utc> {
        self.rec.execution.started
    }

    fn end(&self) -> DateTime<Utc> {
        let d = chrono::Duration::from_std(self.rec.execution.duration).unwrap_or(chrono::Duration::zero());
        self.start().checked_add_signed(d).unwrap_or(self.start())
    }
}

/// Writes the report of `records` to `path`; returns its size in bytes.
pub fn write(path: &Path, title: &str, records: &[Recorded]) -> std::io::Result<usize> {
    let html = render(title, records);
    std::fs::write(path, &html)?;
    Ok(html.len())
}

/// Writes the report of every execution `runtime` recorded to `path`, saying so on stderr.
pub fn save(path: &Path, title: &str, runtime: &crate::runtime::Runtime) -> anyhow::Result<()> {
    let records = runtime.executions.executions();
    let bytes = write(path, title, &records)
        .map_err(|e| anyhow::anyhow!("cannot write the report to {}: {e}", path.display()))?;
    eprintln!("  .. execution report: {} ({} executions, {} KB)", path.display(), records.len(), bytes.div_ceil(1024));
    Ok(())
}

/// The report of `records` as one HTML page.
pub fn render(title: &str, records: &[Recorded]) -> String {
    let mut runs: Vec<Run> = records
        .iter()
        .map(|rec| Run {
            rec,
            trace: Trace::of(&rec.definition, &rec.execution),
            waves: fleet::plan(&rec.execution),
            parent: None,
            children: Vec::new(),
            depth: 0,
        })
        .collect();
    let order = link(&mut runs);
    let clients: HashMap<String, String> = runs
        .iter()
        .flat_map(|r| r.waves.iter().flatten())
        .flat_map(|w| w.accounts.iter().cloned())
        .filter(|(_, client)| !client.is_empty())
        .collect();
    let prefix = common_prefix(runs.iter().map(|r| r.rec.machine.as_str()));

    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"><title>{}</title><style>{CSS}</style></head><body>{MARKERS}"#,
        esc(&format!("platform-ops executions: {title}"))
    );
    summary(&mut out, title, &runs);
    out.push_str(&fleet::section(&runs));
    let bars: Vec<gantt::Bar> = order.iter().map(|&i| bar(&runs, i, &prefix, &clients)).collect();
    let _ = write!(
        out,
        r#"<section id="timeline"><h2>Timeline on the virtual clock</h2><p class="muted">Each execution from its start to its end, nested ones under the execution that started them; idle time between runs is cut out and labelled.</p><div class="scroll">{}</div></section>"#,
        gantt::svg(&bars)
    );
    machines(&mut out, &runs, &order, &prefix, &clients);
    out.push_str("</body></html>\n");
    out
}

/// Links each run to its parent (the recorded execution of that name running when it started),
/// sets depths, and returns the runs parents first, each followed by its children.
fn link(runs: &mut [Run]) -> Vec<usize> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in runs.iter().enumerate() {
        by_name.entry(r.rec.execution.name.as_str()).or_default().push(i);
    }
    let parents: Vec<Option<usize>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = r.rec.parent.as_ref()?;
            let candidates: Vec<usize> =
                by_name.get(p.execution.as_str())?.iter().copied().filter(|&c| c != i).collect();
            let running = |&&c: &&usize| runs[c].start() <= r.start() && runs[c].end() >= r.start();
            candidates.iter().find(running).or(candidates.first()).copied()
        })
        .collect();
    for (i, p) in parents.iter().enumerate() {
        runs[i].parent = *p;
        if let Some(p) = p {
            runs[*p].children.push(i);
        }
    }
    let key = |runs: &[Run], i: usize| (runs[i].start(), i);
    for i in 0..runs.len() {
        let mut children = std::mem::take(&mut runs[i].children);
        children.sort_by_key(|&c| key(runs, c));
        runs[i].children = children;
    }
    let mut roots: Vec<usize> = (0..runs.len()).filter(|&i| runs[i].parent.is_none()).collect();
    roots.sort_by_key(|&i| key(runs, i));
    // Parents first; a cycle (two executions of one name) cannot loop: each run is placed once.
    let mut order = Vec::with_capacity(runs.len());
    let mut placed = HashSet::new();
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    loop {
        let Some((i, depth)) = stack.pop() else {
            match (0..runs.len()).find(|i| !placed.contains(i)) {
                Some(i) => stack.push((i, 0)),
                None => break,
            }
            continue;
        };
        if !placed.insert(i) {
            continue;
        }
        runs[i].depth = depth;
        order.push(i);
        stack.extend(runs[i].children.iter().rev().map(|&c| (c, depth + 1)));
    }
    order
}

/// The prefix every machine name shares, up to a `-` (`abc-trading-prod-`), when there are several.
fn common_prefix<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let Some(first) = names.first() else { return String::new() };
    if names.iter().all(|n| n == first) {
        return String::new();
    }
    let mut len = first.len();
    for n in &names {
        len = len.min(first.bytes().zip(n.bytes()).take_while(|(a, b)| a == b).count());
    }
    first[..len].rfind('-').map(|i| first[..=i].to_string()).unwrap_or_default()
}

fn short(name: &str) -> String {
    if name.chars().count() > 24 { graph::clip(name, 11) } else { name.to_string() }
}

/// `platform-deploy 5f3a… client-007 (436714374949) rollback`.
fn caption(runs: &[Run], i: usize, prefix: &str, clients: &HashMap<String, String>) -> String {
    let r = &runs[i];
    let machine = r.rec.machine.strip_prefix(prefix).unwrap_or(&r.rec.machine);
    let mut text = format!("{machine} {}", short(&r.rec.execution.name));
    if let Some(account) = fleet::account_of(r) {
        let _ = write!(text, " {}", clients.get(&account).unwrap_or(&account));
        if let Some(p) = r.parent.filter(|&p| fleet::is_fleet(&runs[p]))
            && fleet::is_rollback(r, &runs[p].rec.execution.name, &account)
        {
            text.push_str(" rollback");
        }
    }
    text
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn status_text(e: &asl::Execution) -> String {
    match &e.error {
        Some(error) => format!("{} {error}", e.status),
        None => e.status.to_string(),
    }
}

fn bar(runs: &[Run], i: usize, prefix: &str, clients: &HashMap<String, String>) -> gantt::Bar {
    let r = &runs[i];
    let e = &r.rec.execution;
    let mut title = format!(
        "{} {}\n{}\n{} → {} ({} on the virtual clock)",
        r.rec.machine,
        e.name,
        status_text(e),
        when(r.start()),
        when(r.end()),
        duration_text(e.duration)
    );
    if let Some(p) = &r.rec.parent {
        let _ = write!(title, "\nstarted by {} at {}", p.execution, p.state);
    }
    gantt::Bar {
        depth: r.depth,
        label: caption(runs, i, prefix, clients),
        title,
        start: r.start(),
        end: r.end(),
        status: e.status,
    }
}

fn summary(out: &mut String, title: &str, runs: &[Run]) {
    let count = |s: asl::Status| runs.iter().filter(|r| r.rec.execution.status == s).count();
    let machines: HashSet<&str> = runs.iter().map(|r| r.rec.machine.as_str()).collect();
    let first = runs.iter().map(Run::start).min();
    let last = runs.iter().map(Run::end).max();
    let span = match (first, last) {
        (Some(a), Some(b)) => format!(", from {} to {} on the virtual clock", when(a), when(b)),
        _ => String::new(),
    };
    let transitions: u64 = runs.iter().map(|r| r.rec.execution.transitions).sum();
    let _ = write!(
        out,
        r#"<h1>Executions: {}</h1><p class="summary">{} execution(s) of {} state machine(s): {} succeeded, {} failed, {} timed out; {} state transitions{}.</p>"#,
        esc(title),
        runs.len(),
        machines.len(),
        count(asl::Status::Succeeded),
        count(asl::Status::Failed),
        count(asl::Status::TimedOut),
        transitions,
        esc(&span),
    );
}

/// Each machine's graphs: one per way its executions went, with the executions that went it.
fn machines(out: &mut String, runs: &[Run], order: &[usize], prefix: &str, clients: &HashMap<String, String>) {
    out.push_str(r#"<section id="machines"><h2>State machines and the paths taken</h2><p class="legend muted">States entered are blue (×n: entered n times by one execution, a range across several), a failure a Catch took is orange, the state an execution failed at is red; transitions taken are drawn bold, a Catch's dashed.</p>"#);
    let mut by_machine: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in order {
        by_machine.entry(runs[i].rec.machine.as_str()).or_default().push(i);
    }
    for (m, (machine, members)) in by_machine.iter().enumerate() {
        let mut variants: Vec<(String, Vec<usize>)> = Vec::new();
        for &i in members {
            let signature = runs[i].trace.signature(runs[i].rec.execution.status);
            match variants.iter_mut().find(|(s, _)| *s == signature) {
                Some((_, v)) => v.push(i),
                None => variants.push((signature, vec![i])),
            }
        }
        let _ = write!(
            out,
            r#"<h3 id="m{m}">{} <span class="muted">{} execution(s), {} way(s) through</span></h3>"#,
            esc(machine),
            members.len(),
            variants.len()
        );
        for (v, (_, group)) in variants.iter().enumerate() {
            variant(out, runs, group, &format!("m{m}v{v}"), v == 0, prefix, clients);
        }
    }
    out.push_str("</section>");
}

fn variant(
    out: &mut String,
    runs: &[Run],
    group: &[usize],
    id: &str,
    first: bool,
    prefix: &str,
    clients: &HashMap<String, String>,
) {
    let lead = &runs[group[0]];
    let definition = &lead.rec.definition;
    let traces: Vec<&Trace> = group.iter().map(|&i| &runs[i].trace).collect();
    let overlay = graph::Overlay::of(&traces);
    let total = trace::all_states(definition).len();
    let failed: Vec<&str> = lead.trace.failed.iter().map(|f| f.state.as_str()).collect();
    let at = if failed.is_empty() { String::new() } else { format!(", failed at {}", failed.join(", ")) };
    let _ = write!(
        out,
        r#"<details class="variant" id="{id}"{}><summary>{} execution(s): <span class="status {}">{}</span>{} <span class="muted">({} of {} states entered)</span></summary>"#,
        if first || !failed.is_empty() { " open" } else { "" },
        group.len(),
        fleet::status_class(lead.rec.execution.status),
        esc(&status_text(&lead.rec.execution)),
        esc(&at),
        overlay.entered.len(),
        total,
    );
    for f in &lead.trace.failed {
        let _ = write!(
            out,
            r#"<p class="failed-state" data-state="{}">✗ failed at <b>{}</b>: <code>{}</code></p>"#,
            esc(&f.state),
            esc(&f.state),
            esc(&f.error)
        );
        if !f.cause.is_empty() {
            let _ = write!(out, r#"<p class="cause">{}</p>"#, esc(&graph::clip(&f.cause, 1200)));
        }
    }
    // The machine's own states, then each nested Map's and Parallel's, side by side as room allows.
    out.push_str(r#"<div class="scopes">"#);
    for (title, scope) in trace::scopes(definition) {
        let title = if title.is_empty() { "the machine's states".to_string() } else { title };
        let _ =
            write!(out, r#"<figure><figcaption>{}</figcaption>{}</figure>"#, esc(&title), graph::svg(scope, &overlay));
    }
    out.push_str("</div>");
    out.push_str(r#"<table class="runs"><thead><tr><th>execution</th><th>started by</th><th>started (virtual clock)</th><th>took</th><th>status</th><th>cause</th></tr></thead><tbody>"#);
    for &i in group {
        let r = &runs[i];
        let e = &r.rec.execution;
        let by = r.rec.parent.as_ref().map(|p| format!("{} at {}", short(&p.execution), p.state)).unwrap_or_default();
        let _ = write!(
            out,
            r#"<tr><td title="{}">{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class="status {}">{}</span></td><td class="cause-cell">{}</td></tr>"#,
            esc(&e.name),
            esc(&caption(runs, i, prefix, clients)),
            esc(&by),
            when(e.started),
            duration_text(e.duration),
            fleet::status_class(e.status),
            esc(&status_text(e)),
            esc(&graph::clip(e.cause.as_deref().unwrap_or_default(), 400)),
        );
    }
    out.push_str("</tbody></table></details>");
}

/// Arrowheads for the graphs' transitions, defined once for every SVG on the page.
const MARKERS: &str = r##"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><marker id="ah" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="#cbd5e1"/></marker><marker id="aht" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0L10 5L0 10z" fill="#2563eb"/></marker><marker id="ahc" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0L10 5L0 10z" fill="#ea580c"/></marker></defs></svg>"##;

const CSS: &str = "\
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#0f172a;background:#fff}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}\
h3{font-size:15px;margin:18px 0 6px}h4{font-size:13px;margin:12px 0 2px;color:#475569}\
.muted{color:#64748b;font-weight:normal}.summary{color:#334155}\
.status{font-size:12px;padding:1px 7px;border-radius:9px;color:#fff;font-weight:600;white-space:nowrap}\
.status.ok{background:#16a34a}.status.bad{background:#dc2626}.status.late{background:#d97706}\
.cause{color:#7f1d1d;background:#fef2f2;padding:4px 8px;margin:4px 0;border-left:3px solid #dc2626;\
font:12px ui-monospace,monospace;white-space:pre-wrap;word-break:break-word}\
.failed-state{margin:8px 0 2px;color:#7f1d1d}\
code{font:12px ui-monospace,monospace;background:#f1f5f9;padding:0 3px}\
table.waves{border-collapse:collapse;margin:6px 0 14px}\
table.waves th{text-align:left;vertical-align:top;padding:6px 12px 6px 0;min-width:110px}\
table.waves th small{display:block;font-weight:normal;color:#64748b;font-size:11px}\
table.waves td{border-top:1px solid #e2e8f0}\
.cells{display:flex;flex-wrap:wrap;gap:4px;padding:5px 0}\
.cell{display:inline-block;min-width:96px;padding:3px 7px;border-radius:4px;font-size:12px;border:1px solid}\
.cell small{display:block;font-size:10.5px;color:#475569}\
.cell.deployed{background:#dcfce7;border-color:#16a34a}.cell.failed{background:#fee2e2;border-color:#dc2626}\
.cell.rolled-back{background:#fef3c7;border-color:#d97706}\
.cell.not-started{background:#f8fafc;border-color:#cbd5e1;color:#64748b}\
.cell.named{box-shadow:0 0 0 2px #7c2d12}.legend .cell{min-width:0;margin-right:6px}\
.scroll{overflow-x:auto}\
.scopes{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start;overflow-x:auto}\
figure{margin:6px 0}figcaption{font-size:12px;font-weight:600;color:#475569;margin-bottom:2px}\
svg text{font:12px system-ui,sans-serif}\
.st rect{fill:#fff;stroke:#cbd5e1}.st text{fill:#94a3b8}.st .sub{font-size:10.5px}\
.st.in rect{fill:#dbeafe;stroke:#2563eb;stroke-width:1.5}.st.in text{fill:#0f172a}.st.in .sub{fill:#1e40af}\
.st.caught rect{fill:#ffedd5;stroke:#ea580c;stroke-width:1.5}.st.caught text{fill:#0f172a}.st.caught .sub{fill:#9a3412}\
.st.failed rect{fill:#fee2e2;stroke:#dc2626;stroke-width:2.5}.st.failed text{fill:#7f1d1d;font-weight:600}\
.st.stopped rect{fill:#f1f5f9;stroke:#64748b;stroke-dasharray:4 3}.st.stopped text{fill:#334155}\
.e{fill:none;stroke:#cbd5e1;marker-end:url(#ah)}.e.t{stroke:#2563eb;stroke-width:2;marker-end:url(#aht)}\
.e.c{stroke-dasharray:5 3}.e.c.t{stroke:#ea580c;marker-end:url(#ahc)}.start{fill:#2563eb}\
.gantt .tick{font-size:11px;fill:#475569}.gantt .gap{font-size:11px;fill:#94a3b8}\
.stretch{fill:#f8fafc;stroke:#e2e8f0}.bar text{font-size:11.5px;fill:#0f172a}\
.bar.ok rect{fill:#16a34a}.bar.bad rect{fill:#dc2626}.bar.late rect{fill:#d97706}\
details.variant{border:1px solid #e2e8f0;border-radius:6px;margin:8px 0;padding:6px 10px}\
details.variant>summary{cursor:pointer;font-weight:600}\
table.runs{border-collapse:collapse;font-size:12px;margin:10px 0 4px}\
table.runs th,table.runs td{border-bottom:1px solid #e2e8f0;padding:3px 8px;text-align:left;vertical-align:top}\
td.cause-cell{max-width:560px;font:11px ui-monospace,monospace;word-break:break-word}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_html_characters_are_escaped() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn machine_names_lose_only_a_shared_prefix() {
        let names = ["abc-trading-prod-platform-deploy", "abc-trading-prod-fleet-release"];
        assert_eq!(common_prefix(names.into_iter()), "abc-trading-prod-");
        assert_eq!(common_prefix(["only-one"].into_iter()), "");
    }
}
