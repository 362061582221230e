//! A definition's states drawn as an SVG graph, with the path executions took laid over it.

// Layout: states are ranked by the longest path from StartAt over the definition's transitions
// with loops cut (the edges a depth-first walk finds going back), so a handler every step can
// reach (`NotifyFailure`) sits below all of them; each rank is a centred row, ordered by where
// its predecessors are. A transition to the next rank is a curve; one that skips ranks runs down
// a lane on the left, and one going back up (a loop) a lane on the right, one lane per target so
// the transitions into a shared handler join into one line.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use asl::StateMachine;

use super::esc;
use super::trace::{EdgeKind, Failed, Trace, edges};

const W: f64 = 178.0;
const H: f64 = 44.0;
const HGAP: f64 = 22.0;
const VGAP: f64 = 40.0;
const TOP: f64 = 30.0;
const LANE: f64 = 9.0;
const NAME_CHARS: usize = 25;

/// What a group of executions that went the same way did, state by state.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// Per state: the fewest and most entries of one execution.
    pub entered: BTreeMap<String, (u32, u32)>,
    pub failed: BTreeMap<String, Failed>,
    pub caught: BTreeMap<String, String>,
    pub stopped: BTreeSet<String>,
    pub taken: BTreeMap<(String, String), u32>,
}

impl Overlay {
    pub fn of(traces: &[&Trace]) -> Overlay {
        let mut o = Overlay::default();
        for t in traces {
            for (state, n) in &t.entered {
                let e = o.entered.entry(state.clone()).or_insert((*n, *n));
                *e = (e.0.min(*n), e.1.max(*n));
            }
            for f in &t.failed {
                o.failed.entry(f.state.clone()).or_insert_with(|| f.clone());
            }
            for (s, e) in &t.caught {
                o.caught.entry(s.clone()).or_insert_with(|| e.clone());
            }
            o.stopped.extend(t.stopped.iter().cloned());
            for (k, n) in &t.taken {
                *o.taken.entry(k.clone()).or_default() += n;
            }
        }
        o
    }
}

struct Layout {
    /// Top-left corner of each state's box.
    at: HashMap<String, (f64, f64)>,
    rank: HashMap<String, usize>,
    back: BTreeSet<(String, String)>,
    left_lanes: usize,
    right_lanes: usize,
    width: f64,
    height: f64,
}

fn layout(m: &StateMachine) -> Layout {
    let succ: HashMap<&str, Vec<String>> = m
        .states
        .iter()
        .map(|(n, s)| (n.as_str(), edges(s).into_iter().map(|e| e.to).filter(|t| m.states.contains_key(t)).collect()))
        .collect();
    // Depth-first from StartAt (then any state it never reaches), without recursion: a
    // definition given on the command line may be arbitrarily deep.
    let mut color: HashMap<&str, u8> = HashMap::new();
    let mut post: Vec<&str> = Vec::new();
    let mut back = BTreeSet::new();
    let roots = std::iter::once(m.start_at.as_str()).chain(m.states.keys().map(String::as_str));
    for root in roots.filter(|r| m.states.contains_key(*r)) {
        if color.contains_key(root) {
            continue;
        }
        color.insert(root, 1);
        let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
        while let Some((node, i)) = stack.last_mut() {
            let node = *node;
            let next = succ.get(node).and_then(|s| s.get(*i));
            *i += 1;
            match next {
                Some(t) => match color.get(t.as_str()) {
                    None => {
                        color.insert(t.as_str(), 1);
                        stack.push((t.as_str(), 0));
                    }
                    Some(1) => {
                        back.insert((node.to_string(), t.clone()));
                    }
                    Some(_) => {}
                },
                None => {
                    color.insert(node, 2);
                    post.push(node);
                    stack.pop();
                }
            }
        }
    }
    let topo: Vec<&str> = post.into_iter().rev().collect();
    let order: HashMap<&str, usize> = topo.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut rank: HashMap<String, usize> = HashMap::new();
    let mut preds: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in &topo {
        let r = rank.get(*n).copied().unwrap_or(0);
        rank.insert(n.to_string(), r);
        for t in succ.get(n).into_iter().flatten() {
            if !back.contains(&(n.to_string(), t.clone())) {
                let e = rank.entry(t.clone()).or_insert(0);
                *e = (*e).max(r + 1);
                preds.entry(t.as_str()).or_default().push(n);
            }
        }
    }
    let ranks = rank.values().copied().max().map_or(0, |r| r + 1);
    let mut rows: Vec<Vec<&str>> = vec![Vec::new(); ranks];
    for n in &topo {
        rows[rank[*n]].push(n);
    }
    let widest = rows.iter().map(Vec::len).max().unwrap_or(0) as f64;
    let inner = (widest * (W + HGAP) - HGAP).max(W);
    // Lanes: one per target of a transition that skips ranks (left) or goes back (right).
    let mut left: BTreeSet<&str> = BTreeSet::new();
    let mut right: BTreeSet<&str> = BTreeSet::new();
    for (n, ts) in &succ {
        for t in ts {
            if back.contains(&(n.to_string(), t.clone())) {
                right.insert(t);
            } else if rank[t] > rank[*n] + 1 {
                left.insert(t);
            }
        }
    }
    let margin_left = 14.0 + LANE * left.len() as f64;
    let mut at = HashMap::new();
    for (r, row) in rows.iter_mut().enumerate() {
        // Where a state's predecessors are (their mean x) orders the row: fewer crossings.
        let key = |n: &str| -> f64 {
            let xs: Vec<f64> =
                preds.get(n).into_iter().flatten().filter_map(|p| at.get(*p).map(|(x, _): &(f64, f64)| *x)).collect();
            if xs.is_empty() { f64::MAX } else { xs.iter().sum::<f64>() / xs.len() as f64 }
        };
        row.sort_by(|a, b| key(a).total_cmp(&key(b)).then(order[a].cmp(&order[b])));
        let row_width = row.len() as f64 * (W + HGAP) - HGAP;
        let x0 = margin_left + (inner - row_width) / 2.0;
        for (k, n) in row.iter().enumerate() {
            at.insert(n.to_string(), (x0 + k as f64 * (W + HGAP), TOP + r as f64 * (H + VGAP)));
        }
    }
    Layout {
        at,
        rank,
        back,
        left_lanes: left.len(),
        right_lanes: right.len(),
        width: margin_left + inner + 14.0 + LANE * right.len() as f64,
        height: TOP + ranks as f64 * (H + VGAP) - VGAP + 12.0,
    }
}

/// The graph of `m`'s states (not those nested in its Maps and Parallels: each has its own).
pub fn svg(m: &StateMachine, overlay: &Overlay) -> String {
    let l = layout(m);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="graph" width="{:.0}" height="{:.0}" viewBox="0 0 {:.0} {:.0}" role="img">"#,
        l.width, l.height, l.width, l.height
    );
    // Lanes by target, as laid out: left ones from the boxes outwards, right ones likewise.
    let mut left_lane: BTreeMap<String, usize> = BTreeMap::new();
    let mut right_lane: BTreeMap<String, usize> = BTreeMap::new();
    let inner_left = 14.0 + LANE * l.left_lanes as f64;
    let inner_right = l.width - 14.0 - LANE * l.right_lanes as f64;
    for (name, state) in &m.states {
        let Some(&(sx, sy)) = l.at.get(name) else { continue };
        for e in edges(state) {
            let Some(&(tx, ty)) = l.at.get(&e.to) else { continue };
            let (x1, y1, x2, y2) = (sx + W / 2.0, sy + H, tx + W / 2.0, ty);
            let back = l.back.contains(&(name.clone(), e.to.clone()));
            let d = if !back && l.rank[&e.to] == l.rank[name] + 1 {
                format!(
                    "M{x1:.0} {y1:.0}C{x1:.0} {:.0} {x2:.0} {:.0} {x2:.0} {y2:.0}",
                    y1 + VGAP / 2.0,
                    y2 - VGAP / 2.0
                )
            } else {
                let lanes = if back { &mut right_lane } else { &mut left_lane };
                let next = lanes.len();
                let k = *lanes.entry(e.to.clone()).or_insert(next);
                let lx = if back { inner_right + 8.0 + LANE * k as f64 } else { inner_left - 8.0 - LANE * k as f64 };
                // Horizontal runs in the gaps between rows, spread a little so they stay apart.
                let spread = (k % 4) as f64 * 4.0 - 6.0;
                let (g1, g2) = (y1 + VGAP / 2.0 + spread, y2 - VGAP / 2.0 + spread);
                format!("M{x1:.0} {y1:.0}V{g1:.0}H{lx:.0}V{g2:.0}H{x2:.0}V{y2:.0}")
            };
            let taken = overlay.taken.contains_key(&(name.clone(), e.to.clone()));
            let class = match (e.kind == EdgeKind::Catch, taken) {
                (true, true) => "e c t",
                (true, false) => "e c",
                (false, true) => "e t",
                (false, false) => "e",
            };
            let _ = write!(out, r#"<path class="{class}" d="{d}"/>"#);
        }
    }
    if let Some(&(x, y)) = l.at.get(&m.start_at) {
        let cx = x + W / 2.0;
        let _ = write!(
            out,
            r#"<circle class="start" cx="{cx:.0}" cy="{:.0}" r="5"/><path class="e t" d="M{cx:.0} {:.0}V{y:.0}"/>"#,
            y - 20.0,
            y - 15.0
        );
    }
    for (name, state) in &m.states {
        let Some(&(x, y)) = l.at.get(name) else { continue };
        node(&mut out, name, state.kind.type_name(), overlay, x, y);
    }
    out.push_str("</svg>");
    out
}

fn node(out: &mut String, name: &str, kind: &str, overlay: &Overlay, x: f64, y: f64) {
    let counts = overlay.entered.get(name).map(|&(lo, hi)| match (lo, hi) {
        (1, 1) => String::new(),
        (lo, hi) if lo == hi => format!(" ×{lo}"),
        (lo, hi) => format!(" ×{lo}–{hi}"),
    });
    let (class, sub, title) = if let Some(f) = overlay.failed.get(name) {
        ("st failed", format!("✗ {}", f.error), format!("{name} ({kind}) failed: {}\n{}", f.error, f.cause))
    } else if overlay.stopped.contains(name) {
        ("st stopped", format!("{kind} · stopped"), format!("{name} ({kind}): stopped when another iteration failed"))
    } else if let Some(e) = overlay.caught.get(name) {
        let c = counts.clone().unwrap_or_default();
        ("st caught", format!("caught {e}{c}"), format!("{name} ({kind}): a Catch took {e}"))
    } else if let Some(c) = &counts {
        ("st in", format!("{kind}{c}"), format!("{name} ({kind}): entered{c}"))
    } else {
        ("st", kind.to_string(), format!("{name} ({kind}): not entered"))
    };
    let _ = write!(
        out,
        r#"<g class="{class}" data-state="{}"><title>{}</title><rect x="{x:.0}" y="{y:.0}" width="{W:.0}" height="{H:.0}" rx="6"/><text x="{:.0}" y="{:.0}">{}</text><text class="sub" x="{:.0}" y="{:.0}">{}</text></g>"#,
        esc(name),
        esc(&title),
        x + 9.0,
        y + 18.0,
        esc(&clip(name, NAME_CHARS)),
        x + 9.0,
        y + 35.0,
        esc(&clip(&sub, NAME_CHARS + 3)),
    );
}

/// At most `max` characters, the cut marked.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn machine(v: serde_json::Value) -> StateMachine {
        StateMachine::from_value(&v).expect("definition")
    }

    #[test]
    fn a_handler_every_state_reaches_is_ranked_below_them_and_a_loop_goes_back() {
        let m = machine(json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "Next": "B"},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "Next": "Again"},
            "Again": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": true, "Next": "A"}],
                      "Default": "Handle"},
            "Handle": {"Type": "Succeed"}}}));
        let l = layout(&m);
        assert_eq!((l.rank["A"], l.rank["B"], l.rank["Again"], l.rank["Handle"]), (0, 1, 2, 3));
        assert!(l.back.contains(&("Again".to_string(), "A".to_string())));
        assert_eq!((l.left_lanes, l.right_lanes), (1, 1));
        let svg = svg(&m, &Overlay::default());
        assert_eq!(svg.matches("<g class=\"st\"").count(), 4, "{svg}");
    }

    #[test]
    fn long_names_are_clipped_with_a_mark() {
        assert_eq!(clip("ReleaseLeaseAfterInfrastructure", 10), "ReleaseLe…");
        assert_eq!(clip("Short", 10), "Short");
    }
}
