//! Every execution as a bar on the virtual clock (an SVG Gantt chart), nested ones indented under their parents.

// A scenario's events are days apart while its executions take minutes, so the axis is broken:
// executions that overlap (or follow within `JOIN`) form a stretch drawn to scale, and the idle
// time between stretches is a fixed-width gap labelled with its length.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::esc;
use super::fleet::status_class;
use super::graph::clip;

const LABEL: f64 = 390.0;
const PLOT: f64 = 900.0;
const GAP: f64 = 54.0;
const MIN_STRETCH: f64 = 70.0;
const ROW: f64 = 18.0;
const AXIS: f64 = 36.0;
const JOIN_SECONDS: i64 = 15 * 60;

/// One execution's bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub depth: usize,
    pub label: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: asl::Status,
}

#[derive(Debug, Clone)]
struct Stretch {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    x: f64,
    width: f64,
}

impl Stretch {
    fn seconds(&self) -> f64 {
        (self.end - self.start).num_milliseconds().max(0) as f64 / 1000.0
    }
}

fn stretches(bars: &[Bar]) -> Vec<Stretch> {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = bars.iter().map(|b| (b.start, b.end.max(b.start))).collect();
    spans.sort();
    let mut out: Vec<Stretch> = Vec::new();
    for (start, end) in spans {
        match out.last_mut() {
            Some(s) if (start - s.end).num_seconds() < JOIN_SECONDS => s.end = s.end.max(end),
            _ => out.push(Stretch { start, end, x: 0.0, width: 0.0 }),
        }
    }
    let n = out.len() as f64;
    let total: f64 = out.iter().map(Stretch::seconds).sum();
    let spare = (PLOT - GAP * (n - 1.0).max(0.0) - MIN_STRETCH * n).max(0.0);
    let mut x = LABEL;
    for s in &mut out {
        let share = if total > 0.0 { s.seconds() / total } else { 1.0 / n };
        s.x = x;
        s.width = MIN_STRETCH + spare * share;
        x += s.width + GAP;
    }
    out
}

fn x_of(stretches: &[Stretch], t: DateTime<Utc>) -> f64 {
    let Some(s) = stretches.iter().find(|s| t <= s.end).or(stretches.last()) else { return LABEL };
    let secs = s.seconds();
    if secs <= 0.0 {
        return s.x + 2.0;
    }
    let into = ((t - s.start).num_milliseconds() as f64 / 1000.0).clamp(0.0, secs);
    s.x + s.width * into / secs
}

fn clock(t: DateTime<Utc>) -> String {
    t.format("%m-%d %H:%M").to_string()
}

fn span_text(seconds: i64) -> String {
    super::super::runtime::timeline::duration_text(std::time::Duration::from_secs(seconds.max(0) as u64))
}

/// The chart of `bars`, in the order given (parents before their children).
pub fn svg(bars: &[Bar]) -> String {
    if bars.is_empty() {
        return r#"<p class="muted">no executions</p>"#.to_string();
    }
    let stretches = stretches(bars);
    let width = stretches.last().map_or(LABEL + PLOT, |s| s.x + s.width) + 12.0;
    let height = AXIS + bars.len() as f64 * ROW + 8.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="gantt" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img">"#
    );
    for (i, s) in stretches.iter().enumerate() {
        let _ = write!(
            out,
            r#"<rect class="stretch" x="{:.1}" y="{AXIS:.0}" width="{:.1}" height="{:.0}"/><text class="tick" x="{:.1}" y="14">{}</text><text class="tick" x="{:.1}" y="28">+{}</text>"#,
            s.x,
            s.width,
            height - AXIS - 4.0,
            s.x,
            clock(s.start),
            s.x,
            span_text((s.end - s.start).num_seconds()),
        );
        if let Some(next) = stretches.get(i + 1) {
            let gx = s.x + s.width + GAP / 2.0;
            let _ = write!(
                out,
                r#"<text class="gap" x="{gx:.1}" y="{:.0}" text-anchor="middle">⋯</text><text class="gap" x="{gx:.1}" y="{:.0}" text-anchor="middle">{}</text>"#,
                AXIS + 14.0,
                AXIS + 28.0,
                span_text((next.start - s.end).num_seconds()),
            );
        }
    }
    for (i, b) in bars.iter().enumerate() {
        let y = AXIS + i as f64 * ROW;
        let x1 = x_of(&stretches, b.start);
        let x2 = x_of(&stretches, b.end.max(b.start)).max(x1 + 3.0);
        let indent = 6.0 + 14.0 * b.depth as f64;
        let chars = ((LABEL - indent - 10.0) / 6.3) as usize;
        let _ = write!(
            out,
            r#"<g class="bar {}"><title>{}</title><text x="{indent:.0}" y="{:.0}">{}</text><rect x="{x1:.1}" y="{:.0}" width="{:.1}" height="12" rx="2"/></g>"#,
            status_class(b.status),
            esc(&b.title),
            y + 13.0,
            esc(&clip(&b.label, chars)),
            y + 3.0,
            x2 - x1,
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).expect("time")
    }

    fn bar(start: &str, end: &str) -> Bar {
        Bar {
            depth: 0,
            label: "x".into(),
            title: "x".into(),
            start: at(start),
            end: at(end),
            status: asl::Status::Succeeded,
        }
    }

    #[test]
    fn idle_days_between_executions_become_a_gap_and_each_stretch_is_to_scale() {
        let bars = [
            bar("2026-12-01T19:00:00Z", "2026-12-01T21:00:00Z"),
            bar("2026-12-01T19:30:00Z", "2026-12-01T20:00:00Z"),
            bar("2026-12-03T10:00:00Z", "2026-12-03T10:00:00Z"),
        ];
        let s = stretches(&bars);
        assert_eq!(s.len(), 2);
        assert!((s[1].x - (s[0].x + s[0].width + GAP)).abs() < 1e-9);
        // Half an hour into a two-hour stretch is a quarter of its width.
        let quarter = x_of(&s, at("2026-12-01T19:30:00Z"));
        assert!((quarter - (s[0].x + s[0].width / 4.0)).abs() < 1e-6, "{quarter} {:?}", s[0]);
        let svg = svg(&bars);
        assert!(svg.contains(">37h00m<"), "{svg}");
    }
}
