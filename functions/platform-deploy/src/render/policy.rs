//! A workload's NetworkPolicy: the platform's namespaces on its ports, and the VPC where the load balancer or the smoke checks come from.

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use platform_core::config::Service;

use super::{Ctx, PART_OF, labels};

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// Ingress from the platform's own namespaces on the workload's ports. Traffic from outside the
/// pod network arrives from addresses in the VPC: the load balancer's through the edge NodePort
/// (kube-proxy rewrites its source to the node's), and the smoke checks' through the API
/// server's proxy (the control plane's interfaces sit in the VPC's subnets). Those are admitted
/// from the VPC's CIDR, on the ports they use, and only where they are needed.
pub(super) fn network_policy(s: &Service, ctx: &Ctx) -> NetworkPolicy {
    let mut ports = vec![tcp(s.port)];
    ports.extend(s.grpc_port.map(tcp));
    let mut ingress = vec![NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector { match_labels: Some(labels(&[PART_OF])), ..Default::default() }),
            ..Default::default()
        }]),
        ports: Some(ports),
    }];
    if !ctx.vpc_ports.is_empty() {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                ip_block: Some(IPBlock { cidr: ctx.vpc_cidr.to_string(), except: None }),
                ..Default::default()
            }]),
            ports: Some(ctx.vpc_ports.iter().copied().map(tcp).collect()),
        });
    }
    NetworkPolicy {
        metadata: ctx.meta(s, &s.name),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(labels(&[("app.kubernetes.io/name", &s.name)])),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(ingress),
            ..Default::default()
        }),
    }
}
