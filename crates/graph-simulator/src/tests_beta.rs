//! End-to-end tests of the beta reports (the legacy `reportRoot` ones and those of Microsoft Graph, "Authentication
//! methods usage insights overview"
//! (<https://learn.microsoft.com/graph/api/resources/authenticationmethods-usage-insights-overview>)): shapes, agreement
//! with the activity log, the Prefer header, retirement and permissions.

use std::collections::BTreeMap;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::tests::{Answer, client, error_code, get, loopback, relaxed, send, token};
use super::timefmt::iso_utc;
use super::*;

const AM: &str = "/beta/reports/authenticationMethods";

async fn get_prefer(c: &reqwest::Client, url: &str, token: &str) -> Answer {
    send(c.get(url).bearer_auth(token).header("prefer", "include-unknown-enum-members")).await
}

/// Every row of a paged collection, following nextLinks.
async fn all_rows(c: &reqwest::Client, first: &str, token: &str, prefer: bool) -> (Vec<Value>, usize) {
    let mut url = first.to_owned();
    let mut rows = Vec::new();
    let mut pages = 0;
    loop {
        let a = if prefer { get_prefer(c, &url, token).await } else { get(c, &url, token).await };
        assert_eq!(a.status, 200, "{url}: {}", a.text);
        let j = a.json();
        rows.extend(j["value"].as_array().unwrap().iter().cloned());
        pages += 1;
        match j["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_owned(),
            None => return (rows, pages),
        }
    }
}

fn is_reg_or_reset(e: &SimEvent) -> bool {
    matches!(e.kind, EventKind::Registration | EventKind::Reset)
}

#[tokio::test]
async fn user_events_summary_lists_the_log_newest_first() {
    let sim = start(relaxed(3_000), loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let base = sim.base_url();
    let pop = sim.population(DEMO_TENANT_ID);
    let want: Vec<&SimEvent> = pop.events.iter().rev().filter(|e| is_reg_or_reset(e)).collect();
    assert!(want.len() > 150, "{}", want.len());

    let (rows, pages) = all_rows(&c, &format!("{base}{AM}/userEventsSummary?$top=100"), &t, true).await;
    assert_eq!(rows.len(), want.len());
    assert_eq!(pages, want.len().div_ceil(100));
    for (r, e) in rows.iter().zip(&want) {
        let u = &pop.users[e.user as usize];
        assert_eq!(r["@odata.type"], "#microsoft.graph.userEventsSummary");
        assert_eq!(r["id"], u.id.as_str(), "id is the user's object id");
        assert_eq!(r["userPrincipalName"], u.user_principal_name.as_str());
        assert_eq!(r["userDisplayName"], u.user_display_name.as_str());
        assert_eq!(r["feature"], if e.kind == EventKind::Registration { "registration" } else { "reset" });
        assert_eq!(r["authMethod"], e.method);
        assert_eq!(r["isSuccess"], e.success);
        assert_eq!(r["failureReason"], e.failure_reason.unwrap_or(""));
        let at = time::OffsetDateTime::parse(r["eventDateTime"].as_str().unwrap(), &Rfc3339).unwrap();
        assert_eq!(at, e.at);
    }

    // Without the Prefer header the modern members read unknownFutureValue.
    let a = get(&c, &format!("{base}{AM}/userEventsSummary"), &t).await;
    let j = a.json();
    assert_eq!(j["@odata.context"], format!("{base}/beta/$metadata#reports/authenticationMethods/userEventsSummary"));
    for (r, e) in j["value"].as_array().unwrap().iter().zip(&want) {
        assert_eq!(r["authMethod"], usage_auth_method_as_served(e.method, false));
    }
    assert!(j["value"].as_array().unwrap().iter().any(|r| r["authMethod"] == "unknownFutureValue"));

    // A lookback window with the documented filters combined.
    let since = pop.refreshed_at - std::time::Duration::from_secs(7 * 86_400);
    let filter =
        format!("eventDateTime ge {} and isSuccess eq false and feature eq 'registration'", iso_utc(since, false));
    let url = format!("{base}{AM}/userEventsSummary?$filter={}", filter.replace(' ', "%20"));
    let (rows, _) = all_rows(&c, &url, &t, true).await;
    let expect = want.iter().filter(|e| e.at >= since && !e.success && e.kind == EventKind::Registration).count();
    assert_eq!(rows.len(), expect);
    assert!(expect > 0);
    let quoted = format!("{base}{AM}/userEventsSummary?$filter=eventDateTime%20ge%20'2026-01-01T00:00:00Z'");
    assert_eq!(get(&c, &quoted, &t).await.status, 400);
    assert_eq!(get(&c, &format!("{base}{AM}/userEventsSummary?$top=1001"), &t).await.status, 400);
    assert_eq!(get(&c, &format!("{base}{AM}/userEventsSummary?$skip=10"), &t).await.status, 400);

    // Paging stays exact across a drift that appends newer events.
    let first = get_prefer(&c, &format!("{base}{AM}/userEventsSummary?$top=40"), &t).await.json();
    let next = first["@odata.nextLink"].as_str().unwrap().to_owned();
    sim.drift(DEMO_TENANT_ID);
    let second = get_prefer(&c, &next, &t).await.json();
    let ids = |j: &Value| -> Vec<String> {
        j["value"].as_array().unwrap().iter().map(|r| format!("{}{}", r["id"], r["eventDateTime"])).collect()
    };
    let expected: Vec<String> = want[40..80]
        .iter()
        .map(|e| format!("\"{}\"\"{}\"", pop.users[e.user as usize].id, iso_utc(e.at, false)))
        .collect();
    assert_eq!(ids(&second), expected);
    sim.shutdown().await;
}

#[tokio::test]
async fn period_reports_are_delegated_only_and_agree_with_the_log() {
    let sim = start(relaxed(3_000), loopback()).await.unwrap();
    let c = client();
    let app = token(&c, &sim).await;
    let base = sim.base_url();
    let pop = sim.population(DEMO_TENANT_ID);
    for f in ["userRegistrationActivity(period='d7')", "userSignInsByAuthMethodSummary(period='d7')"] {
        let a = get(&c, &format!("{base}{AM}/{f}"), &app).await;
        assert_eq!((a.status, error_code(&a)), (403, "Authorization_RequestDenied".to_owned()), "{f}");
    }
    let user = sim.issue_delegated_token(DEMO_TENANT_ID, &["AuditLog.Read.All"]);
    for (p, days) in [("d1", 1u64), ("D7", 7), ("d30", 30)] {
        let lower = pop.refreshed_at - std::time::Duration::from_secs(days * 86_400);
        let in_window: Vec<&SimEvent> =
            pop.events.iter().filter(|e| e.at > lower && e.at <= pop.refreshed_at).collect();

        let a = get_prefer(&c, &format!("{base}{AM}/userRegistrationActivity(period='{p}')"), &user).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let j = a.json();
        assert!(
            j["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("#Collection(microsoft.graph.userRegistrationActivitySummary)")
        );
        let rows = j["value"].as_array().unwrap();
        assert!(rows.len() >= 25);
        assert_eq!(rows[0]["authMethod"], "windowsHelloForBusiness");
        let mut got: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for r in rows {
            assert_eq!(r["@odata.type"], "#microsoft.graph.userRegistrationActivitySummary");
            assert!(r["id"].as_str().unwrap().len() == 36);
            let key = (r["feature"].as_str().unwrap().to_owned(), r["authMethod"].as_str().unwrap().to_owned());
            let v = (r["successfulActivityCount"].as_u64().unwrap(), r["failureActivityCount"].as_u64().unwrap());
            assert!(got.insert(key, v).is_none(), "one row per (feature, method)");
        }
        let mut want: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for e in in_window.iter().filter(|e| is_reg_or_reset(e)) {
            let feature = if e.kind == EventKind::Registration { "registration" } else { "reset" };
            let c = want.entry((feature.to_owned(), e.method.to_owned())).or_default();
            if e.success { c.0 += 1 } else { c.1 += 1 }
        }
        for (k, v) in &want {
            assert_eq!(got.get(k), Some(v), "{p} {k:?}");
        }
        assert_eq!(got.values().map(|v| v.0 + v.1).sum::<u64>(), want.values().map(|v| v.0 + v.1).sum::<u64>());

        let a = get(&c, &format!("{base}{AM}/userSignInsByAuthMethodSummary(period='{p}')"), &user).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let rows = a.json()["value"].as_array().unwrap().clone();
        assert_eq!(rows[0]["authenticationMethod"], "password");
        assert_eq!(rows[0]["@odata.type"], "#microsoft.graph.userSignInUsageByAuthMethodActivity");
        assert!(rows.iter().all(|r| r.get("id").is_none()));
        let total: u64 = rows.iter().map(|r| r["successActivityCount"].as_u64().unwrap()).sum();
        let want = in_window.iter().filter(|e| e.kind == EventKind::SignIn && e.success).count() as u64;
        assert_eq!(total, want, "{p}");
    }
    // Without Prefer the modern members collapse to unknownFutureValue; email stays.
    let a = get(&c, &format!("{base}{AM}/userRegistrationActivity(period='d30')"), &user).await;
    let rows = a.json()["value"].as_array().unwrap().clone();
    assert_eq!(rows[0]["authMethod"], "unknownFutureValue");
    assert!(rows.iter().any(|r| r["authMethod"] == "email"));
    // $filter on the documented properties.
    let a =
        get(&c, &format!("{base}{AM}/userRegistrationActivity(period='d30')?$filter=feature%20eq%20'reset'"), &user)
            .await;
    let rows = a.json()["value"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r["feature"] == "reset"));
    assert_eq!(get(&c, &format!("{base}{AM}/userRegistrationActivity(period='d2')"), &user).await.status, 400);
    assert_eq!(
        get(&c, &format!("{base}{AM}/userSignInsByAuthMethodSummary(period='d1')?$top=1"), &user).await.status,
        400
    );

    // A signed-in user without a reports role.
    let nobody =
        sim.issue_delegated_token_with_roles(DEMO_TENANT_ID, &["AuditLog.Read.All"], &["Helpdesk Administrator"]);
    let a = get(&c, &format!("{base}{AM}/userRegistrationActivity(period='d1')"), &nobody).await;
    assert_eq!((a.status, error_code(&a)), (403, "Authentication_RequestFromUnsupportedUserRole".to_owned()));
    assert_eq!(a.json()["error"]["message"], "User is not in the allowed roles");
    sim.shutdown().await;
}

#[tokio::test]
async fn daily_reports() {
    let sim = start(relaxed(2_000), loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let base = sim.base_url();
    let pop = sim.population(DEMO_TENANT_ID);

    let a = get(&c, &format!("{base}{AM}/userMfaSignInSummary"), &t).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    assert_eq!(
        j["@odata.context"],
        format!("{base}/beta/$metadata#reports/authenticationMethods/userMfaSignInSummary")
    );
    let rows = j["value"].as_array().unwrap();
    assert_eq!(rows.len(), DAILY_ROWS);
    let today = iso_utc(pop.refreshed_at, false)[..10].to_owned();
    assert_eq!(rows[0]["createdDateTime"], format!("{today}T00:00:00Z"));
    let mut total = 0;
    for w in rows.windows(2) {
        assert!(w[0]["createdDateTime"].as_str() > w[1]["createdDateTime"].as_str());
    }
    for r in rows {
        assert_eq!(r["@odata.type"], "#microsoft.graph.userMfaSignInSummary");
        let (t, s, m) = (
            r["totalSignIns"].as_u64().unwrap(),
            r["singleFactorSignIns"].as_u64().unwrap(),
            r["multiFactorSignIns"].as_u64().unwrap(),
        );
        assert_eq!(t, s + m);
        total += t;
    }
    let oldest = rows[DAILY_ROWS - 1]["createdDateTime"].as_str().unwrap();
    let from = time::OffsetDateTime::parse(oldest, &Rfc3339).unwrap();
    let want = pop.events.iter().filter(|e| e.at >= from && e.kind == EventKind::SignIn && e.success).count() as u64;
    assert_eq!(total, want);
    assert_eq!(get(&c, &format!("{base}{AM}/userMfaSignInSummary?$top=3"), &t).await.status, 400);

    let url = format!("{base}{AM}/userPasswordResetsAndChangesSummary?$filter=passwordResetsSelfServiceCount%20gt%200");
    let a = get(&c, &url, &t).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let rows = a.json()["value"].as_array().unwrap().clone();
    assert!(!rows.is_empty() && rows.len() < DAILY_ROWS);
    assert!(rows.iter().all(|r| r["passwordResetsSelfServiceCount"].as_u64().unwrap() > 0));
    assert!(rows.iter().all(|r| r["aggregatedDateTime"].as_str().unwrap().ends_with("T00:00:00Z")));
    let all = get(&c, &format!("{base}{AM}/userPasswordResetsAndChangesSummary"), &t).await.json();
    let sum = |k: &str| all["value"].as_array().unwrap().iter().map(|r| r[k].as_u64().unwrap()).sum::<u64>();
    let count = |k: EventKind| pop.events.iter().filter(|e| e.at >= from && e.kind == k && e.success).count() as u64;
    assert_eq!(sum("passwordResetsByAdminCount"), count(EventKind::AdminPasswordReset));
    assert_eq!(sum("passwordResetsSelfServiceCount"), count(EventKind::Reset));
    assert_eq!(sum("changePasswordSelfServiceCount"), count(EventKind::PasswordChange));
    sim.shutdown().await;
}

#[tokio::test]
async fn legacy_reports_retirement_and_permissions() {
    let sim = start(relaxed(3_000), loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let base = sim.base_url();
    let pop = sim.population(DEMO_TENANT_ID);

    // Live by default; agrees with userRegistrationDetails' flags.
    let a = get(&c, &format!("{base}/beta/reports/getCredentialUserRegistrationCount"), &t).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    assert!(
        j["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/beta/reports/$metadata#Collection(microsoft.graph.credentialUserRegistrationCount)")
    );
    let e = &j["value"][0];
    assert_eq!(e["totalUserCount"], pop.listed_count());
    let counts: BTreeMap<&str, u64> = e["userRegistrationCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["registrationStatus"].as_str().unwrap(), c["registrationCount"].as_u64().unwrap()))
        .collect();
    let n = |f: &dyn Fn(&SimUser) -> bool| pop.listed().filter(|u| f(u)).count() as u64;
    assert_eq!(counts["registered"], n(&|u| u.is_sspr_registered));
    assert_eq!(counts["enabled"], n(&|u| u.is_sspr_enabled));
    assert_eq!(counts["capable"], n(&|u| u.is_sspr_capable || u.is_mfa_capable));
    assert_eq!(counts["mfaRegistered"], n(&|u| u.is_mfa_registered));

    // Retired by default: 400 like a removed API, counted under the route.
    for (path, name) in [
        ("reports/credentialUserRegistrationDetails", "credentialUserRegistrationDetails"),
        ("reports/getCredentialUsageSummary(period='D30')", "getCredentialUsageSummary"),
        ("reports/userCredentialUsageDetails", "userCredentialUsageDetails"),
    ] {
        let a = get(&c, &format!("{base}/beta/{path}"), &t).await;
        assert_eq!((a.status, error_code(&a)), (400, "BadRequest".to_owned()), "{path}");
        assert_eq!(a.json()["error"]["message"], format!("Resource not found for the segment '{name}'."));
        assert_eq!(sim.stats().requests_to(name), 1);
    }
    for r in RetirableReport::RETIRED_BY_DEFAULT {
        assert!(sim.is_retired(r));
        sim.set_retired(r, false);
    }

    let (rows, pages) =
        all_rows(&c, &format!("{base}/beta/reports/credentialUserRegistrationDetails?$top=1000"), &t, false).await;
    assert_eq!(rows.len(), pop.listed_count());
    assert_eq!(pages, 3);
    let listed: Vec<&SimUser> = pop.listed().collect();
    for (r, u) in rows.iter().zip(&listed) {
        assert_eq!(r["id"], u.id.as_str());
        let want: Vec<&str> = legacy_registration_auth_methods(&u.methods_registered)
            .into_iter()
            .map(|m| if m == "externalAuthMethod" { "unknownFutureValue" } else { m })
            .collect();
        assert_eq!(r["authMethods"], serde_json::json!(want));
        assert_eq!(r["isCapable"], u.is_sspr_capable || u.is_mfa_capable);
    }
    let url = format!(
        "{base}/beta/reports/credentialUserRegistrationDetails?$filter=authMethods/any(t:t%20eq%20'appNotification')"
    );
    let (rows, _) = all_rows(&c, &url, &t, false).await;
    assert_eq!(
        rows.len(),
        listed.iter().filter(|u| u.methods_registered.iter().any(|m| m == "microsoftAuthenticatorPush")).count()
    );

    let a = get_prefer(&c, &format!("{base}/beta/reports/getCredentialUsageSummary(period='D30')"), &t).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let rows = a.json()["value"].as_array().unwrap().clone();
    let lower = pop.refreshed_at - std::time::Duration::from_secs(30 * 86_400);
    let want = pop.events.iter().filter(|e| e.at > lower && is_reg_or_reset(e)).count() as u64;
    let got: u64 = rows
        .iter()
        .map(|r| r["successfulActivityCount"].as_u64().unwrap() + r["failureActivityCount"].as_u64().unwrap())
        .sum();
    assert_eq!(got, want);
    assert!(rows.iter().any(|r| r["authMethod"] == "appNotification" && r["feature"] == "registration"));
    assert!(rows.iter().any(|r| r["authMethod"] == "mobileCall" && r["feature"] == "reset"));
    let url =
        format!("{base}/beta/reports/getCredentialUsageSummary(period='d1')?$filter=feature%20eq%20'registration'");
    let rows = get(&c, &url, &t).await.json()["value"].as_array().unwrap().clone();
    assert!(rows.iter().all(|r| r["feature"] == "registration"));

    let a = get_prefer(&c, &format!("{base}/beta/reports/userCredentialUsageDetails?$top=5"), &t).await;
    let rows = a.json()["value"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 5);
    let ids: Vec<&str> = pop.users.iter().map(|u| u.id.as_str()).collect();
    assert!(rows.iter().all(|r| !ids.contains(&r["id"].as_str().unwrap())), "per-event ids");
    // Legacy names: the modern ones with a legacy equivalent never appear.
    assert!(rows.iter().all(|r| !matches!(
        r["authMethod"].as_str().unwrap(),
        "microsoftAuthenticatorPush" | "sms" | "oneTimePasscode"
    )));

    // Beta-only names under v1.0.
    let a = get(&c, &format!("{base}/v1.0/reports/getCredentialUserRegistrationCount"), &t).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["error"]["message"],
        "Resource not found for the segment 'getCredentialUserRegistrationCount'."
    );

    // Reports.Read.All removed: the legacy reports refuse, the others still work.
    sim.set_app_roles(DEMO_TENANT_ID, vec!["AuditLog.Read.All".into()]);
    let old_token = t.clone();
    assert_eq!(
        get(&c, &format!("{base}/beta/reports/getCredentialUserRegistrationCount"), &old_token).await.status,
        200
    );
    let t = token(&c, &sim).await;
    let a = get(&c, &format!("{base}/beta/reports/getCredentialUserRegistrationCount"), &t).await;
    assert_eq!((a.status, error_code(&a)), (403, "Authentication_MSGraphPermissionMissing".to_owned()));
    assert_eq!(
        a.json()["error"]["message"],
        "Calling principal does not have required MSGraph permissions Reports.Read.All"
    );
    assert_eq!(get(&c, &format!("{base}{AM}/userEventsSummary?$top=1"), &t).await.status, 200);

    sim.set_retired(RetirableReport::UserEventsSummary, true);
    assert_eq!(get(&c, &format!("{base}{AM}/userEventsSummary?$top=1"), &t).await.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn summaries_for_every_type_and_role_filter() {
    let sim = start(relaxed(3_000), loopback()).await.unwrap();
    let c = client();
    let user = sim.issue_delegated_token(DEMO_TENANT_ID, &["AuditLog.Read.All"]);
    let base = sim.base_url();
    let pop = sim.population(DEMO_TENANT_ID);
    for types in ["all", "member", "guest"] {
        for roles in ["all", "privilegedAdmin", "admin", "user"] {
            for (f, ty) in [
                ("usersRegisteredByFeature", "userRegistrationFeatureSummary"),
                ("usersRegisteredByMethod", "userRegistrationMethodSummary"),
            ] {
                let url = format!(
                    "{base}/v1.0/reports/authenticationMethods/{f}(includedUserTypes='{types}',includedUserRoles='{roles}')"
                );
                let a = get(&c, &url, &user).await;
                assert_eq!(a.status, 200, "{url}: {}", a.text);
                let j = a.json();
                assert_eq!(j["@odata.context"], format!("{base}/v1.0/$metadata#microsoft.graph.{ty}"));
                assert_eq!(j["@odata.type"], format!("#microsoft.graph.{ty}"));
                assert_eq!(j["userTypes"], types);
                assert_eq!(j["userRoles"], roles);
                let scope = pop.listed().filter(|u| {
                    let t = match types {
                        "member" => u.user_type.as_deref() == Some("member"),
                        "guest" => u.user_type.as_deref() == Some("guest"),
                        _ => true,
                    };
                    let r = match roles {
                        "privilegedAdmin" => !u.privileged_roles.is_empty(),
                        "admin" => u.is_admin == Some(true),
                        "user" => u.is_admin != Some(true),
                        _ => true,
                    };
                    t && r
                });
                assert_eq!(j["totalUserCount"], scope.count(), "{url}");
            }
        }
    }
    sim.shutdown().await;
}
