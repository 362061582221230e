//! The restore test's database probe over real TCP: an answer, garbage, silence, a refusal, and a host it never dials.

use std::time::Duration;

use chrono::{DateTime, Utc};
use platform_deploy::database_probe::{ProbeError, TcpDatabaseProbe, probe, stand_in};

const HOST: &str = "abc-trading-dev-restore-1a2b3c4d.cxyz.us-east-1.rds.amazonaws.com";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T04:05:00Z").expect("time").with_timezone(&Utc)
}

#[tokio::test]
async fn a_postgres_answer_is_answered_and_anything_else_failed() {
    let timeout = Duration::from_millis(500);
    for (byte, state, answer) in [(b'N', "answered", Some("N")), (b'S', "answered", Some("S")), (b'H', "failed", None)]
    {
        let at = stand_in(byte).expect("listener");
        let p =
            probe(&TcpDatabaseProbe::redirected(at, timeout), "us-east-1", HOST, 5432, now()).await.expect("probed");
        assert_eq!((p.state.as_str(), p.answer.as_deref()), (state, answer), "{byte}: {p:?}");
        assert_eq!(p.at, now());
        if state == "failed" {
            assert!(p.reason.as_deref().is_some_and(|r| r.contains("0x48") && r.contains(HOST)), "{p:?}");
        }
    }
}

#[tokio::test]
async fn a_closed_port_and_a_silent_one_fail_within_the_timeout() {
    // Bound then dropped: nothing listens there any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let p = probe(&TcpDatabaseProbe::redirected(closed, Duration::from_millis(500)), "us-east-1", HOST, 5432, now())
        .await
        .expect("probed");
    assert_eq!(p.state, "failed", "{p:?}");

    // Accepts (the kernel's backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let started = std::time::Instant::now();
    let probe_silent = TcpDatabaseProbe::redirected(silent.local_addr().expect("addr"), Duration::from_millis(300));
    let p = probe(&probe_silent, "us-east-1", HOST, 5432, now()).await.expect("probed");
    assert_eq!(p.state, "failed");
    assert!(p.reason.as_deref().is_some_and(|r| r.contains("no answer")), "{p:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "bounded by the timeout");
}

#[tokio::test]
async fn a_host_outside_the_regions_rds_is_refused_before_any_connection() {
    let at = stand_in(b'N').expect("listener");
    let p = TcpDatabaseProbe::redirected(at, Duration::from_millis(500));
    for host in ["169.254.169.254", "db.internal", "abc.cxyz.eu-west-1.rds.amazonaws.com"] {
        let e = probe(&p, "us-east-1", host, 5432, now()).await.expect_err("refused");
        assert!(matches!(e, ProbeError::NotAnRdsEndpoint { .. }), "{host}: {e}");
    }
    assert_eq!(probe(&p, "us-east-1", HOST, 22, now()).await, Err(ProbeError::BadPort(22)));
}
