//! The fleet dashboard of the monitoring (automation) account: every linked client account's pods, database, errors, SLO burn and alarm states, rendered from config.

use platform_core::config::{ConfigTree, HealthAlarm, HealthSource, Indicator, Per};
use platform_core::monitoring::LOG_NAMESPACE;
use serde_json::{Value, json};

/// The log group the alarm-state rules also write every health and SLO alarm state change to
/// (template.yaml), which the dashboard's alarm status table reads.
pub fn alarm_state_log_group(tree: &ConfigTree) -> String {
    format!("/{}/${{Environment}}/alarm-states", tree.organization.name_prefix)
}

/// The RDS metrics the database row shows (every RDS health alarm on them is drawn there).
const DATABASE_METRICS: &[(&str, &str, &str)] = &[
    ("CPUUtilization", "PostgreSQL CPU (%)", "Average"),
    ("DatabaseConnections", "PostgreSQL connections", "Maximum"),
    ("FreeStorageSpace", "PostgreSQL free storage (bytes)", "Minimum"),
];

/// Per source account in a monitoring account: the link's label, then what tells series apart.
const ACCOUNT: &str = "${!PROP('AccountLabel')}";

/// `SEARCH('{schema} MetricName="metric" k="v"...', 'stat', period)`: every linked account's.
fn search(schema: &str, metric: &str, terms: &[(&str, &str)], stat: &str, period: u32) -> String {
    let terms: String = terms.iter().map(|(k, v)| format!(" {k}=\"{v}\"")).collect();
    format!("SEARCH('{{{schema}}} MetricName=\"{metric}\"{terms}', '{stat}', {period})")
}

/// A number as CloudWatch takes it: no float noise (`0.0009999999` is `0.001`).
fn number(x: f64) -> Value {
    let rounded = (x * 1e9).round() / 1e9;
    serde_json::Number::from_f64(rounded).map(Value::Number).unwrap_or(Value::Null)
}

fn threshold_line(h: &HealthAlarm) -> Value {
    let fill = if h.comparison.starts_with("Less") { "below" } else { "above" };
    let severity = h.severity.map(|s| s.to_string()).unwrap_or_default();
    json!({"label": format!("health-{} ({severity})", h.name), "value": number(h.threshold), "fill": fill})
}

fn metric_widget(title: &str, metrics: Vec<Value>, stat: &str, period: u32, annotations: Vec<Value>) -> Value {
    let mut properties = json!({
        "title": title, "region": "${AWS::Region}", "view": "timeSeries", "stacked": false,
        "stat": stat, "period": period, "metrics": metrics,
    });
    if !annotations.is_empty() {
        properties["annotations"] = json!({ "horizontal": annotations });
    }
    json!({"type": "metric", "properties": properties})
}

/// The search that finds a member health alarm's metric in every linked account, and its label.
fn health_search(tree: &ConfigTree, h: &HealthAlarm) -> (String, String) {
    let cluster = tree.organization.resource_prefix("${Environment}");
    let stat = h.statistic.as_str();
    let period = h.period_seconds;
    match (h.source, h.per) {
        (HealthSource::Rds, _) => (
            search("AWS/RDS,DBInstanceIdentifier", &h.metric, &[("DBInstanceIdentifier", &cluster)], stat, period),
            ACCOUNT.to_string(),
        ),
        (HealthSource::Axon, _) => (
            search(
                "ContainerInsights,ClusterName,Namespace,PodName",
                &h.metric,
                &[("ClusterName", &cluster), ("Namespace", "trading-foundation"), ("PodName", "axon-server")],
                stat,
                period,
            ),
            ACCOUNT.to_string(),
        ),
        (HealthSource::LoadBalancer, _) => (
            search("AWS/ApplicationELB,LoadBalancer", &h.metric, &[], stat, period),
            format!("{ACCOUNT} ${{!PROP('Dim.LoadBalancer')}}"),
        ),
        (_, Some(Per::Tier)) => (
            search("ContainerInsights,ClusterName,Namespace", &h.metric, &[("ClusterName", &cluster)], stat, period),
            format!("{ACCOUNT} ${{!PROP('Dim.Namespace')}}"),
        ),
        _ => (
            search("ContainerInsights,ClusterName", &h.metric, &[("ClusterName", &cluster)], stat, period),
            ACCOUNT.to_string(),
        ),
    }
}

/// The dashboard's widgets, top to bottom, each with its place in the 24-column grid.
fn widgets(tree: &ConfigTree) -> Vec<Value> {
    let prefix = tree.organization.resource_prefix("${Environment}");
    let m = &tree.monitoring;
    let member: Vec<&HealthAlarm> = m.health.iter().filter(|h| h.source.in_member()).collect();
    let mut rows: Vec<Vec<(u32, u32, Value)>> = Vec::new();

    let header = format!(
        "## {prefix}: every client account\n\
         Each client account of `${{Environment}}` linked to this monitoring account (CloudWatch cross-account \
         observability: the account's sink, the member baseline's link) shows its own platform here: Container \
         Insights, RDS and the load balancer. The log processor's `{LOG_NAMESPACE}` metrics (errors and SLO events per \
         account, service and tier) exist in this account only: no client account can read another's. Member \
         health alarms (`{prefix}-health-*`) and this account's per-account error and SLO alarms go to on-call: \
         `page` through the `{prefix}-paging` topic, `ticket` as an OpsItem (docs/runbook.md, *Health alarms and \
         SLOs (on-call)*)."
    );
    rows.push(vec![(24, 3, json!({"type": "text", "properties": {"markdown": header}}))]);

    // A tier of Jobs has no running pods to show.
    let pods: Vec<Value> = tree
        .catalog
        .serving_tiers()
        .map(|t| {
            let expression = search(
                "ContainerInsights,ClusterName,Namespace",
                "namespace_number_of_running_pods",
                &[("ClusterName", &prefix), ("Namespace", &format!("trading-{}", t.name))],
                "Average",
                60,
            );
            json!([{"expression": expression, "id": format!("pods_{}", t.name.replace('-', "_")), "label": format!("{ACCOUNT} {}", t.name)}])
        })
        .collect();
    rows.push(vec![(24, 6, metric_widget("Running pods per tier, every account", pods, "Average", 60, vec![]))]);

    let mut database = Vec::new();
    for (metric, title, stat) in DATABASE_METRICS {
        let expression =
            search("AWS/RDS,DBInstanceIdentifier", metric, &[("DBInstanceIdentifier", &prefix)], stat, 300);
        let lines =
            member.iter().filter(|h| h.source == HealthSource::Rds && h.metric == *metric).map(|&h| threshold_line(h));
        let metrics = vec![json!([{"expression": expression, "id": "db", "label": ACCOUNT}])];
        database.push((8, 6, metric_widget(&format!("{title}, every account"), metrics, stat, 300, lines.collect())));
    }
    rows.push(database);

    let errors = search(
        &format!("{LOG_NAMESPACE},Environment,Account,Service"),
        "Errors",
        &[("Environment", "${Environment}")],
        "Sum",
        300,
    );
    let events = errors.replace("MetricName=\"Errors\"", "MetricName=\"Events\"");
    let by_service = "${!PROP('Dim.Account')} ${!PROP('Dim.Service')}";
    let service_alarm = m.health.iter().find(|h| h.source == HealthSource::ServiceErrors);
    let errors_title = match service_alarm {
        Some(h) => {
            format!("Errors per account and service (5 min; health-{} alarms above {}% of events)", h.name, h.threshold)
        }
        None => "Errors per account and service (5 min)".to_string(),
    };
    rows.push(vec![
        (
            12,
            6,
            metric_widget(
                &errors_title,
                vec![json!([{"expression": errors, "id": "errors", "label": by_service}])],
                "Sum",
                300,
                vec![],
            ),
        ),
        (
            12,
            6,
            metric_widget(
                "Log events per account and service (5 min)",
                vec![json!([{"expression": events, "id": "events", "label": by_service}])],
                "Sum",
                300,
                vec![],
            ),
        ),
    ]);

    // Metric math cannot divide one search's series by another's pairwise: the burn is drawn for
    // the tier across the fleet (the per-account burn is each account's SLO alarm), with each
    // account's bad events beside it.
    let burns: Vec<Value> = m
        .slo
        .burn
        .iter()
        .map(|b| json!({"label": format!("{} burn ({})", b.name, b.severity), "value": number(b.factor)}))
        .collect();
    let mut slo_row = Vec::new();
    for o in &m.slo.objectives {
        let id = o.tier.replace('-', "_");
        let tier_search = |metric: &str| {
            search(
                &format!("{LOG_NAMESPACE},Environment,Account,Tier"),
                metric,
                &[("Environment", "${Environment}"), ("Tier", &o.tier)],
                "Sum",
                300,
            )
        };
        let metrics = vec![
            json!([{"expression": tier_search("Errors"), "id": format!("errors_{id}"), "label": "${!PROP('Dim.Account')} errors", "yAxis": "right"}]),
            json!([{"expression": tier_search("Events"), "id": format!("events_{id}"), "visible": false}]),
            json!([{"expression": tier_search("SlowRequests"), "id": format!("slow_{id}"), "visible": false}]),
            json!([{"expression": tier_search("Requests"), "id": format!("requests_{id}"), "visible": false}]),
            json!([{"expression": format!("(SUM(errors_{id}) / SUM(events_{id})) / {}", number(o.budget(Indicator::Availability))), "id": format!("availability_{id}"), "label": "availability burn (every account)"}]),
            json!([{"expression": format!("(SUM(slow_{id}) / SUM(requests_{id})) / {}", number(o.budget(Indicator::Latency))), "id": format!("latency_{id}"), "label": "latency burn (every account)"}]),
        ];
        let title = format!(
            "SLO {}: burn rate (availability {}%, {} ms for {}% of requests, {} days)",
            o.tier, o.availability, o.latency_ms, o.latency, m.slo.window_days
        );
        slo_row.push((12, 6, metric_widget(&title, metrics, "Sum", 300, burns.clone())));
        if slo_row.len() == 2 {
            rows.push(std::mem::take(&mut slo_row));
        }
    }
    if !slo_row.is_empty() {
        rows.push(slo_row);
    }

    // Every other member health alarm: its metric in every account against its threshold.
    let mut health_row = Vec::new();
    for h in member
        .iter()
        .filter(|h| !(h.source == HealthSource::Rds && DATABASE_METRICS.iter().any(|(x, ..)| *x == h.metric)))
    {
        let (expression, label) = health_search(tree, h);
        let severity = h.severity.map(|s| s.to_string()).unwrap_or_default();
        let title = format!("health-{} ({severity}): {}", h.name, h.metric);
        let metrics = vec![json!([{"expression": expression, "id": "health", "label": label}])];
        health_row.push((
            8,
            5,
            metric_widget(&title, metrics, &h.statistic, h.period_seconds, vec![threshold_line(h)]),
        ));
        if health_row.len() == 3 {
            rows.push(std::mem::take(&mut health_row));
        }
    }
    if !health_row.is_empty() {
        rows.push(health_row);
    }

    // Alarm status: the alarm widget takes fixed ARNs of this account, while member alarms live
    // in each client account (a link shares metrics, logs and traces, not alarms) and the
    // per-account alarms come and go with the accounts; the rules keep every state change in a
    // log group, whose latest entry per alarm is its state.
    let query = format!(
        "SOURCE '{}' | fields account, detail.alarmName as alarm, detail.state.value as state \
         | stats latest(state) as now, latest(@timestamp) as since by account, alarm \
         | sort now asc | limit 200",
        alarm_state_log_group(tree)
    );
    rows.push(vec![(
        24,
        8,
        json!({"type": "log", "properties": {
            "title": "Health and SLO alarms: last state change per account and alarm (ALARM first)",
            "region": "${AWS::Region}", "view": "table", "query": query,
        }}),
    )]);

    let mut out = Vec::new();
    let mut y = 0;
    for row in rows {
        let mut x = 0;
        let height = row.iter().map(|(_, h, _)| *h).max().unwrap_or(0);
        for (width, h, mut widget) in row {
            widget["x"] = json!(x);
            widget["y"] = json!(y);
            widget["width"] = json!(width);
            widget["height"] = json!(h);
            out.push(widget);
            x += width;
        }
        y += height;
    }
    out
}

/// Compact JSON with every object's keys in order, whichever map serde_json was built with
/// (another crate of the build enabling `preserve_order` must not change the template).
fn sorted_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                sorted_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                sorted_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The fleet dashboard as a CloudFormation resource of template.yaml: its body a `!Sub` of JSON,
/// one widget a line (`${Environment}` and `${AWS::Region}` substituted, `${!...}` literal).
pub fn render_fleet_dashboard(tree: &ConfigTree) -> String {
    let prefix = tree.organization.resource_prefix("${Environment}");
    let widgets: Vec<String> = widgets(tree)
        .iter()
        .map(|w| {
            let mut line = "          ".to_string();
            sorted_json(w, &mut line);
            line
        })
        .collect();
    format!(
        "  FleetDashboard:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardName: !Sub {prefix}-fleet
      DashboardBody: !Sub |
        {{
          \"widgets\": [
{widgets}
          ]
        }}
",
        widgets = widgets.join(",\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::tree;

    /// The body as CloudFormation would deploy it for dev in us-east-1.
    fn body(tree: &ConfigTree) -> Value {
        let yaml = render_fleet_dashboard(tree);
        let doc: serde_norway::Value = serde_norway::from_str(&format!("Resources:\n{yaml}")).expect("YAML");
        let sub = &doc["Resources"]["FleetDashboard"]["Properties"]["DashboardBody"];
        let serde_norway::Value::Tagged(t) = sub else { panic!("DashboardBody is a !Sub: {sub:?}") };
        let text = t.value.as_str().expect("text");
        let unresolved = text.replace("${Environment}", "").replace("${AWS::Region}", "").replace("${!", "");
        assert!(!unresolved.contains("${"), "only the stack's own variables are substituted: {text}");
        let deployed =
            text.replace("${Environment}", "dev").replace("${AWS::Region}", "us-east-1").replace("${!", "${");
        serde_json::from_str(&deployed).unwrap_or_else(|e| panic!("{e}: {deployed}"))
    }

    fn expressions(widget: &Value) -> Vec<String> {
        widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m[0]["expression"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn the_dashboard_is_named_for_the_environment_and_laid_out_on_the_grid() {
        let tree = tree();
        assert!(render_fleet_dashboard(&tree).contains("DashboardName: !Sub abc-trading-${Environment}-fleet\n"));
        let body = body(&tree);
        let widgets = body["widgets"].as_array().expect("widgets");
        for w in widgets {
            let (x, width) = (w["x"].as_u64().expect("x"), w["width"].as_u64().expect("width"));
            assert!(x + width <= 24, "{w}");
            assert!(w["y"].as_u64().is_some() && w["height"].as_u64().is_some(), "{w}");
        }
    }

    /// GIVEN the config THEN the dashboard searches every linked account for each tier's pods,
    /// the database, the log processor's errors per account and service, and each tier's SLO.
    #[test]
    fn the_fleet_is_searched_across_accounts_per_tier_service_and_objective() {
        let tree = tree();
        let body = body(&tree);
        let all: Vec<String> = body["widgets"].as_array().expect("widgets").iter().flat_map(expressions).collect();
        let has = |needle: &str| all.iter().any(|e| e.contains(needle));
        for t in tree.catalog.serving_tiers() {
            assert!(
                has(&format!(
                    "namespace_number_of_running_pods\" ClusterName=\"abc-trading-dev\" Namespace=\"trading-{}\"",
                    t.name
                )),
                "{}",
                t.name
            );
        }
        for (metric, ..) in DATABASE_METRICS {
            assert!(
                has(&format!(
                    "{{AWS/RDS,DBInstanceIdentifier}} MetricName=\"{metric}\" DBInstanceIdentifier=\"abc-trading-dev\""
                )),
                "{metric}"
            );
        }
        assert!(has(
            "SEARCH('{ABC/Trading,Environment,Account,Service} MetricName=\"Errors\" Environment=\"dev\"', 'Sum', 300)"
        ));
        for o in &tree.monitoring.slo.objectives {
            let tier = format!("Tier=\"{}\"", o.tier);
            for metric in ["Errors", "Events", "SlowRequests", "Requests"] {
                assert!(
                    has(&format!(
                        "{{ABC/Trading,Environment,Account,Tier}} MetricName=\"{metric}\" Environment=\"dev\" {tier}"
                    )),
                    "{metric} {tier}"
                );
            }
            assert!(
                has(&format!(
                    "(SUM(errors_{0}) / SUM(events_{0})) / {1}",
                    o.tier,
                    number(o.budget(Indicator::Availability))
                )),
                "{}",
                o.tier
            );
        }
        assert!(all.iter().all(|e| !e.contains("0000000")), "no float noise: {all:?}");
    }

    /// GIVEN the member health alarms THEN each one's metric is drawn across accounts with its
    /// threshold, and the alarm status table reads the rules' log group.
    #[test]
    fn every_health_alarm_has_its_threshold_and_the_alarm_states_their_table() {
        let tree = tree();
        let body = body(&tree);
        let widgets = body["widgets"].as_array().expect("widgets");
        for h in tree.monitoring.health.iter().filter(|h| h.source.in_member()) {
            let label = format!("health-{} (", h.name);
            let drawn = widgets.iter().any(|w| {
                w["properties"]["annotations"]["horizontal"].as_array().into_iter().flatten().any(|a| {
                    a["label"].as_str().is_some_and(|l| l.starts_with(&label))
                        && a["value"].as_f64() == Some(h.threshold)
                }) && expressions(w).iter().any(|e| e.contains(&format!("MetricName=\"{}\"", h.metric)))
            });
            assert!(drawn, "health-{} has no widget with its threshold", h.name);
        }
        let log = widgets.iter().find(|w| w["type"] == "log").expect("alarm status widget");
        let query = log["properties"]["query"].as_str().expect("query");
        assert!(query.starts_with("SOURCE '/abc-trading/dev/alarm-states' |"), "{query}");
        assert!(query.contains("by account, alarm"), "{query}");
    }
}
