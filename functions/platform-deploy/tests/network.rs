//! What reaches the pods from outside the pod network: the edge service on its fixed NodePort,
//! and the VPC admitted by network policy only on the ports the load balancer and the smoke
//! checks use; the in-memory cluster drops what a policy does not admit, as the VPC CNI does.

use std::collections::BTreeSet;

use chrono::Utc;
use platform_core::config::{self, ConfigTree};
use platform_deploy::cluster::{MemoryCluster, WorkloadApplier};
use platform_deploy::release::Release;
use platform_deploy::render::{Manifest, Registry, Target, render};
use serde_json::Value;

fn tree() -> ConfigTree {
    config::load(&config::repository_config_dir()).expect("config")
}

fn manifests(tree: &ConfigTree, env: &str) -> Vec<Manifest> {
    let release = Release::uniform("2026.11.3").resolve(&tree.catalog).expect("release");
    let registry = Registry { account: "123456789012".into(), region: "us-east-1".into() };
    render(tree, env, &release, &registry, &Target { account: "222233334444".into(), ..Target::default() })
        .expect("render")
}

fn find<'a>(m: &'a [Manifest], kind: &str, name: &str) -> &'a Value {
    &m.iter().find(|x| x.kind == kind && x.name == name).unwrap_or_else(|| panic!("{kind} {name}")).body
}

/// The ports a policy admits from an `ipBlock`, and the block.
fn from_vpc(policy: &Value) -> Option<(String, BTreeSet<u64>)> {
    let rules = policy["spec"]["ingress"].as_array()?;
    let rule = rules.iter().find(|r| r["from"][0].get("ipBlock").is_some())?;
    let ports = rule["ports"].as_array()?.iter().filter_map(|p| p["port"].as_u64()).collect();
    Some((rule["from"][0]["ipBlock"]["cidr"].as_str()?.to_string(), ports))
}

#[test]
fn only_the_edge_service_is_a_node_port_on_the_configured_port() {
    let mut tree = tree();
    tree.environments.get_mut("staging").expect("staging").edge.node_port = 31443;
    for (env, port) in [("dev", 30080), ("staging", 31443)] {
        let m = manifests(&tree, env);
        let services: Vec<&Manifest> = m.iter().filter(|x| x.kind == "Service").collect();
        let node_ports: Vec<(&str, &Value)> = services
            .iter()
            .filter(|s| s.body["spec"]["type"] == "NodePort")
            .map(|s| (s.name.as_str(), &s.body))
            .collect();
        assert_eq!(node_ports.len(), 1, "{env}: one NodePort service");
        let (name, body) = node_ports[0];
        assert_eq!(name, "frontend");
        assert_eq!(body["spec"]["ports"][0]["nodePort"], port, "{env}");
        assert!(
            services
                .iter()
                .filter(|s| s.name != "frontend")
                .all(|s| s.body["spec"]["ports"][0].get("nodePort").is_none()),
            "{env}"
        );
    }
}

#[test]
fn the_vpc_is_admitted_only_on_the_edge_and_smoke_checked_ports() {
    let tree = tree();
    for (name, env) in &tree.environments {
        let m = manifests(&tree, name);
        let cidr = env.network.vpc_cidr.to_string();
        let admitted: Vec<(String, String, BTreeSet<u64>)> = m
            .iter()
            .filter(|x| x.kind == "NetworkPolicy")
            .filter_map(|p| from_vpc(&p.body).map(|(c, ports)| (p.name.clone(), c, ports)))
            .collect();
        let expected = vec![
            ("axon-server".to_string(), cidr.clone(), BTreeSet::from([8024])),
            ("backend-services".to_string(), cidr.clone(), BTreeSet::from([8080])),
            ("frontend".to_string(), cidr.clone(), BTreeSet::from([u64::from(tree.catalog.services["frontend"].port)])),
        ];
        assert_eq!(admitted, expected, "{name}");
    }
}

#[tokio::test]
async fn the_proxy_reaches_a_pod_only_where_a_policy_admits_the_vpc() {
    let tree = tree();
    let m = manifests(&tree, "dev");
    let cluster = MemoryCluster::new(chrono::Duration::zero(), vec![]);
    let now = Utc::now() - chrono::Duration::minutes(1);
    for x in &m {
        cluster.apply(x, now).await.expect("apply");
    }
    let ns = "trading-edge";
    let answer = cluster.proxy_get(ns, "backend-services", 8080, "/actuator/health").await.expect("proxy");
    assert_eq!(answer.status, 200, "{}", answer.body);

    // The same policy without its VPC rule: the proxy's packets are dropped.
    let mut policy =
        m.iter().find(|x| x.kind == "NetworkPolicy" && x.name == "backend-services").expect("policy").clone();
    policy.body["spec"]["ingress"].as_array_mut().expect("rules").retain(|r| r["from"][0].get("ipBlock").is_none());
    cluster.apply(&policy, now).await.expect("apply");
    let answer = cluster.proxy_get(ns, "backend-services", 8080, "/actuator/health").await.expect("proxy");
    assert_eq!(answer.status, 503, "{}", answer.body);

    // A service no check calls is not reachable from the VPC at all.
    let internal = tree.catalog.services.values().find(|s| {
        s.tier != "edge"
            && s.kind != platform_core::config::ServiceKind::Job
            && !tree.catalog.smoke_checks.iter().any(|c| c.service == s.name)
    });
    let s = internal.expect("an internal service");
    let answer =
        cluster.proxy_get(&format!("trading-{}", s.tier), &s.name, s.port, &s.health_path).await.expect("proxy");
    assert_eq!(answer.status, 503, "{}: {}", s.name, answer.body);
    assert_eq!(find(&m, "NetworkPolicy", &s.name)["spec"]["ingress"].as_array().map(Vec::len), Some(1));
}
