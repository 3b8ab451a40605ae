//! Every report beyond the registration details: which are polled with which credential, how
//! retired and cloud-less reports are marked, and their values against the simulator's truth.

mod common;

use common::*;
use entra_authmethods_exporter::simulator::DEMO_TENANT_ID;

fn available(exp: &Exposition, report: &str) -> Option<f64> {
    exp.get("entra_authmethods_report_available", &[("tenant", TENANT), ("report", report)])
}

fn requests_to(exp: &Exposition, endpoint: &str) -> f64 {
    exp.family("entra_authmethods_graph_requests_total")
        .iter()
        .filter(|(l, _)| l["endpoint"] == endpoint)
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test]
async fn a_national_cloud_lists_the_legacy_reports_as_unavailable_without_asking_graph() {
    let sim = start_simulator(50, 51).await;
    let toml = config_toml_with_reports(&sim, "", "cloud = \"usgov\"", "");
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    for report in [
        "credential_user_registration_count",
        "credential_usage_summary",
        "credential_user_registration_details",
        "user_credential_usage_details",
    ] {
        assert_eq!(available(&exp, report), Some(0.0), "{report}");
        assert_eq!(exp.get("entra_authmethods_polls_total", &[("tenant", TENANT), ("report", report)]), Some(0.0));
    }
    for endpoint in
        ["getCredentialUserRegistrationCount", "getCredentialUsageSummary", "credentialUserRegistrationDetails"]
    {
        assert_eq!(requests_to(&exp, endpoint), 0.0, "{endpoint} was not requested");
    }
    assert_eq!(
        exp.get(
            "entra_authmethods_tenant_info",
            &[("tenant", TENANT), ("tenant_id", DEMO_TENANT_ID), ("cloud", "usgov")]
        ),
        Some(1.0)
    );
    let (status, _, body) = get(exporter.addr, "/readyz").await;
    assert_eq!(status, 200, "unavailable reports do not block readiness: {body}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn delegated_only_reports_are_skipped_once_without_a_signed_in_user() {
    let sim = start_simulator(30, 52).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config_toml_with_reports(&sim, "", "", "")).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"))
        .arg("--once")
        .arg("--config")
        .arg(&path)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for report in ["registration_activity", "sign_ins_by_method"] {
        let warnings =
            stderr.lines().filter(|l| l.contains("report skipped") && l.contains(&format!("report={report}"))).count();
        assert_eq!(warnings, 1, "one warning for {report}:\n{stderr}");
    }
    assert!(stderr.contains("login"), "the warning says how to fix it");
    let exp = Exposition::parse(&String::from_utf8(out.stdout).unwrap());
    for report in ["registration_activity", "sign_ins_by_method", "registration_summary"] {
        assert_eq!(
            exp.get("entra_authmethods_polls_total", &[("tenant", TENANT), ("report", report)]),
            None,
            "{report}"
        );
    }
    assert_eq!(
        exp.get("entra_authmethods_poll_success", &[("tenant", TENANT), ("report", "registration_details")]),
        Some(1.0)
    );
    sim.shutdown().await;
}
