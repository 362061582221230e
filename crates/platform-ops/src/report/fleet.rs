//! The waves × accounts grid of each fleet release: every account of its plan, coloured by what happened to it.

// A fleet is an execution whose state carries a plan (`$.plan.waves[*]`, each with `name` and
// `accounts[*].account/client`), found in its history's state outputs. The accounts' own
// executions are the fleet's children whose input names the account (`accountId`); a rollback is
// told from a deploy by its name, which the definition hashes from `<fleet>-<account>-rollback`
// (or, should that change, by the state that started it).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value, json};

use super::{Run, esc};

/// A wave of a fleet's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub name: String,
    /// (account id, client name).
    pub accounts: Vec<(String, String)>,
}

/// The plan's waves, from the first state output of `execution` that holds one.
pub fn plan(execution: &asl::Execution) -> Option<Vec<Wave>> {
    execution
        .history
        .iter()
        .filter(|e| e.kind.ends_with("StateExited"))
        .filter_map(|e| e.details.get("output").and_then(Value::as_str))
        // Parsing only the outputs that can hold a plan keeps a long history cheap.
        .filter(|o| o.contains("\"waves\""))
        .filter_map(|o| serde_json::from_str::<Value>(o).ok())
        .find_map(|v| waves_in(&v))
        .or_else(|| execution.output.as_ref().and_then(waves_in))
}

fn waves_in(v: &Value) -> Option<Vec<Wave>> {
    let waves = v.pointer("/plan/waves")?.as_array()?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Some(
        waves
            .iter()
            .map(|w| Wave {
                name: text(w, "name"),
                accounts: w
                    .get("accounts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|a| (text(a, "account"), text(a, "client")))
                    .collect(),
            })
            .collect(),
    )
}

/// Whether `run` is a fleet release (a plan with waves, or the fleet-release machine).
pub fn is_fleet(run: &Run) -> bool {
    run.waves.is_some() || run.rec.machine.ends_with("fleet-release")
}

/// The account an execution deploys (its input's `accountId`).
pub fn account_of(run: &Run) -> Option<String> {
    run.rec.input.get("accountId").and_then(Value::as_str).map(str::to_string)
}

/// Whether `run`, started by the fleet `fleet` for `account`, is that account's rollback.
pub fn is_rollback(run: &Run, fleet: &str, account: &str) -> bool {
    let hashed = asl::intrinsic::Intrinsic::parse("States.Hash(States.Format('{}-{}-rollback', $.f, $.a), 'SHA-1')")
        .ok()
        .and_then(|i| i.evaluate(&json!({"f": fleet, "a": account}), &Value::Null).ok());
    hashed.as_ref().and_then(Value::as_str) == Some(run.rec.execution.name.as_str())
        || run.rec.parent.as_ref().is_some_and(|p| p.state.contains("Rollback"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Deployed,
    Failed,
    RolledBack,
    NotStarted,
}

impl Cell {
    fn class(self) -> &'static str {
        match self {
            Cell::Deployed => "deployed",
            Cell::Failed => "failed",
            Cell::RolledBack => "rolled-back",
            Cell::NotStarted => "not-started",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Cell::Deployed => "deployed",
            Cell::Failed => "failed",
            Cell::RolledBack => "rolled back",
            Cell::NotStarted => "not started",
        }
    }
}

/// The fleets' grids, or nothing when no execution was a fleet release.
pub fn section(runs: &[Run]) -> String {
    let fleets: Vec<&Run> = runs.iter().filter(|r| is_fleet(r)).collect();
    if fleets.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        r#"<section id="fleets"><h2>Fleet releases</h2><p class="legend"><span class="cell deployed">deployed</span><span class="cell failed">failed</span><span class="cell rolled-back">rolled back</span><span class="cell not-started">not started</span><span class="cell named">⚠ named in the failure</span></p>"#,
    );
    for fleet in fleets {
        grid(&mut out, fleet, runs);
    }
    out.push_str("</section>");
    out
}

fn grid(out: &mut String, fleet: &Run, runs: &[Run]) {
    let e = &fleet.rec.execution;
    let name = &e.name;
    let release = fleet.rec.input.pointer("/request/release").and_then(Value::as_str).unwrap_or_default();
    let error = e.error.as_deref().map(|x| format!(" {x}")).unwrap_or_default();
    let _ = write!(
        out,
        r#"<div class="fleet" data-fleet="{}"><h3>{} <span class="muted">release {}</span> <span class="status {}">{}{}</span></h3>"#,
        esc(name),
        esc(name),
        esc(release),
        status_class(e.status),
        e.status,
        esc(&error)
    );
    if let Some(cause) = &e.cause {
        let _ = write!(out, r#"<p class="cause">{}</p>"#, esc(&super::graph::clip(cause, 600)));
    }
    let Some(waves) = &fleet.waves else {
        let at = fleet.trace.failed.first().map(|f| format!(" (failed at {})", f.state)).unwrap_or_default();
        let _ = write!(out, r#"<p class="muted">no plan: nothing was deployed{}</p></div>"#, esc(&at));
        return;
    };
    // The fleet's children by account, in the order they started.
    let mut by_account: BTreeMap<String, Vec<&Run>> = BTreeMap::new();
    for &c in &fleet.children {
        if let Some(account) = account_of(&runs[c]) {
            by_account.entry(account).or_default().push(&runs[c]);
        }
    }
    let cause = e.cause.as_deref().unwrap_or_default();
    out.push_str(r#"<table class="waves"><tbody>"#);
    for wave in waves {
        let cells: Vec<(Cell, String)> = wave
            .accounts
            .iter()
            .map(|(account, _)| cell(by_account.get(account).map(Vec::as_slice).unwrap_or_default(), name, account))
            .collect();
        let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
        for (c, _) in &cells {
            *tally.entry(c.label()).or_default() += 1;
        }
        let tally: Vec<String> = tally.iter().map(|(l, n)| format!("{n} {l}")).collect();
        let _ = write!(
            out,
            r#"<tr data-wave="{}"><th scope="row">{}<small>{} account(s): {}</small></th><td><div class="cells">"#,
            esc(&wave.name),
            esc(&wave.name),
            wave.accounts.len(),
            esc(&tally.join(", "))
        );
        for ((account, client), (c, detail)) in wave.accounts.iter().zip(&cells) {
            let named = !account.is_empty() && cause.contains(account.as_str());
            let _ = write!(
                out,
                r#"<div class="cell {}{}" data-client="{}" title="{}"><b>{}{}</b><small>{}</small><small>{}</small></div>"#,
                c.class(),
                if named { " named" } else { "" },
                esc(client),
                esc(detail),
                if named { "⚠ " } else { "" },
                esc(if client.is_empty() { account } else { client }),
                esc(account),
                c.label(),
            );
        }
        out.push_str("</div></td></tr>");
    }
    out.push_str("</tbody></table></div>");
}

/// What happened to `account` in fleet `fleet`, from its executions there, and a line on each.
fn cell(children: &[&Run], fleet: &str, account: &str) -> (Cell, String) {
    let (rollbacks, deploys): (Vec<&Run>, Vec<&Run>) =
        children.iter().copied().partition(|r| is_rollback(r, fleet, account));
    let line = |r: &Run, what: &str| {
        let e = &r.rec.execution;
        let error = e.error.as_deref().map(|x| format!(" {x}")).unwrap_or_default();
        format!("{what} {}: {}{error}", e.name, e.status)
    };
    let mut detail: Vec<String> = deploys.iter().map(|r| line(r, "deploy")).collect();
    detail.extend(rollbacks.iter().map(|r| {
        let to = r.rec.input.get("release").and_then(Value::as_str).unwrap_or("?");
        line(r, &format!("rollback to {to}"))
    }));
    let status = |r: Option<&&Run>| r.map(|r| r.rec.execution.status);
    let cell = match (status(deploys.last()), status(rollbacks.last())) {
        (_, Some(asl::Status::Succeeded)) => Cell::RolledBack,
        (_, Some(_)) | (Some(asl::Status::Failed | asl::Status::TimedOut | asl::Status::Aborted), None) => Cell::Failed,
        (Some(asl::Status::Succeeded), None) => Cell::Deployed,
        (None, None) => Cell::NotStarted,
    };
    if detail.is_empty() {
        detail.push("no execution for this account".into());
    }
    (cell, detail.join("\n"))
}

pub fn status_class(s: asl::Status) -> &'static str {
    match s {
        asl::Status::Succeeded => "ok",
        asl::Status::Failed => "bad",
        asl::Status::TimedOut => "late",
        asl::Status::Aborted => "bad",
    }
}
