//! End-to-end tests of directoryRoles and `$batch`.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::tests::{Answer, client, error_code, get, loopback, relaxed, send, token};
use super::*;

const GA: &str = "62e90394-69f5-4237-9190-012177145e10";

#[tokio::test]
async fn directory_roles_and_members_for_app_only_clients() {
    let sim = start(relaxed(3_000), loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let base = sim.base_url();
    let pop = sim.population(DEMO_TENANT_ID);

    let a = get(&c, &format!("{base}/v1.0/directoryRoles"), &t).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    assert_eq!(j["@odata.context"], format!("{base}/v1.0/$metadata#directoryRoles"));
    let roles = j["value"].as_array().unwrap().clone();
    assert!(roles.len() >= 9, "{roles:?}");
    for r in &roles {
        for k in ["id", "description", "displayName", "roleTemplateId"] {
            assert!(r[k].is_string(), "{k}: {r}");
        }
        assert!(r["deletedDateTime"].is_null());
        let known = DIRECTORY_ROLES.iter().find(|(n, ..)| *n == r["displayName"]).unwrap();
        assert_eq!(r["roleTemplateId"], known.1);
        assert_ne!(r["id"], known.1, "object id differs from the template id");
    }

    // The privileged users, found the app-only way, are exactly the users with privileged roles.
    let mut privileged: HashSet<String> = HashSet::new();
    let mut saw_service_principal = false;
    for (name, template, _) in DIRECTORY_ROLES.iter().take(PRIVILEGED_ROLES.len()) {
        let Some(role) = roles.iter().find(|r| r["roleTemplateId"] == *template) else { continue };
        let mut url = format!("{base}/v1.0/directoryRoles/{}/members?$select=id&$top=7", role["id"].as_str().unwrap());
        loop {
            let a = get(&c, &url, &t).await;
            assert_eq!(a.status, 200, "{name}: {}", a.text);
            let j = a.json();
            assert_eq!(j["@odata.context"], format!("{base}/v1.0/$metadata#directoryObjects(id)"));
            for m in j["value"].as_array().unwrap() {
                let keys: HashSet<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
                assert_eq!(keys, HashSet::from(["@odata.type", "id"]));
                if m["@odata.type"] == "#microsoft.graph.user" {
                    privileged.insert(m["id"].as_str().unwrap().to_owned());
                } else {
                    assert_eq!(m["@odata.type"], "#microsoft.graph.servicePrincipal");
                    saw_service_principal = true;
                }
            }
            match j["@odata.nextLink"].as_str() {
                Some(n) => url = n.to_owned(),
                None => break,
            }
        }
    }
    let want: HashSet<String> =
        pop.users.iter().filter(|u| !u.privileged_roles.is_empty()).map(|u| u.id.clone()).collect();
    assert_eq!(privileged, want);
    assert!(saw_service_principal);
    // Intersected with the listed users, they are what privilegedAdmin counts.
    let listed_privileged = pop.listed().filter(|u| privileged.contains(&u.id)).count();
    let user = sim.issue_delegated_token(DEMO_TENANT_ID, &["AuditLog.Read.All"]);
    let url = format!(
        "{base}/v1.0/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='privilegedAdmin')"
    );
    assert_eq!(get(&c, &url, &user).await.json()["totalUserCount"], listed_privileged);

    // The alternate key, the full member objects, a filter, single roles and unknown ones.
    let a = get(&c, &format!("{base}/v1.0/directoryRoles(roleTemplateId='{GA}')/members"), &t).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let members = a.json()["value"].as_array().unwrap().clone();
    let first = members.iter().find(|m| m["@odata.type"] == "#microsoft.graph.user").unwrap();
    let u = pop.users.iter().find(|u| u.id == first["id"]).unwrap();
    assert_eq!(first["userPrincipalName"], u.user_principal_name.as_str());
    assert_eq!(first["displayName"], u.user_display_name.as_str());
    assert!(first["businessPhones"].is_array());
    let a = get(&c, &format!("{base}/v1.0/directoryRoles?$filter=roleTemplateId%20eq%20'{GA}'"), &t).await;
    assert_eq!(a.json()["value"].as_array().unwrap().len(), 1);
    let a = get(&c, &format!("{base}/beta/directoryRoles(roleTemplateId='{GA}')"), &t).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["displayName"], "Global Administrator");
    assert!(a.json()["@odata.context"].as_str().unwrap().ends_with("$metadata#directoryRoles/$entity"));
    let a = get(&c, &format!("{base}/v1.0/directoryRoles/00000000-0000-0000-0000-000000000000/members"), &t).await;
    assert_eq!((a.status, error_code(&a)), (404, "Request_ResourceNotFound".to_owned()));
    assert_eq!(
        get(&c, &format!("{base}/v1.0/directoryRoles(roleTemplateId='{GA}')/members?$top=1000"), &t).await.status,
        400
    );
    assert_eq!(get(&c, &format!("{base}/v1.0/directoryRoles?$orderby=displayName"), &t).await.status, 400);

    // Without a directory permission: 403 Authorization_RequestDenied; no licence needed.
    sim.set_app_roles(DEMO_TENANT_ID, vec!["AuditLog.Read.All".into()]);
    let t2 = token(&c, &sim).await;
    let a = get(&c, &format!("{base}/v1.0/directoryRoles"), &t2).await;
    assert_eq!((a.status, error_code(&a)), (403, "Authorization_RequestDenied".to_owned()));
    assert_eq!(a.json()["error"]["message"], "Insufficient privileges to complete the operation.");
    sim.set_app_roles(DEMO_TENANT_ID, vec!["Directory.Read.All".into()]);
    sim.set_licensed(DEMO_TENANT_ID, false);
    let t3 = token(&c, &sim).await;
    assert_eq!(get(&c, &format!("{base}/v1.0/directoryRoles"), &t3).await.status, 200);
    sim.shutdown().await;
}

async fn batch(c: &reqwest::Client, sim: &RunningSimulator, token: &str, body: &Value) -> Answer {
    send(
        c.post(format!("{}/v1.0/$batch", sim.base_url()))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

#[tokio::test]
async fn batch_dispatches_each_request_and_shuffles_the_answers() {
    let mut cfg = relaxed(800);
    cfg.quota_requests = 3;
    cfg.quota_window = std::time::Duration::from_secs(30);
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/reports/authenticationMethods/userRegistrationDetails?$top=2&$select=id"},
        {"id": "2", "method": "GET", "url": "/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='admin')"},
        {"id": "3", "method": "GET", "url": "directoryRoles?$select=displayName"},
        {"id": "4", "method": "GET", "url": "/reports/authenticationMethods/userRegistrationDetails/not-a-user"},
        {"id": "5", "method": "GET", "url": "/reports/authenticationMethods/userRegistrationDetails?$top=1"},
        {"id": "6", "method": "GET", "url": "/reports/authenticationMethods/usersRegisteredByMethod()"},
        {"id": "7", "method": "GET", "url": "/reports/authenticationMethods/userRegistrationDetails?$top=1", "dependsOn": ["4"]}
    ]});
    let a = batch(&c, &sim, &t, &body).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    let responses = j["responses"].as_array().unwrap();
    let ids: Vec<&str> = responses.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 7);
    assert_ne!(ids, ["1", "2", "3", "4", "5", "6", "7"], "answers are not in request order");
    let by_id = |id: &str| responses.iter().find(|r| r["id"] == id).unwrap();
    let r1 = by_id("1");
    assert_eq!(r1["status"], 200);
    assert_eq!(r1["headers"]["Content-Type"], envelope::ODATA_JSON);
    assert_eq!(r1["body"]["value"].as_array().unwrap().len(), 2);
    assert!(r1["body"]["@odata.nextLink"].as_str().unwrap().starts_with(&sim.base_url()));
    // App-only token on a delegated-only function: refused inside the batch, not the batch.
    assert_eq!(by_id("2")["status"], 403);
    assert_eq!(by_id("3")["status"], 200);
    assert!(by_id("3")["body"]["value"].as_array().unwrap().iter().all(|r| r.get("roleTemplateId").is_none()));
    assert_eq!(by_id("4")["status"], 404);
    // Quota 3 per window: requests 1, 2 and 4 used it (3 is a directory read), so 5 is throttled.
    let r5 = by_id("5");
    assert_eq!(r5["status"], 429);
    assert!(r5["headers"]["Retry-After"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
    assert_eq!(r5["body"]["error"]["code"], "TooManyRequests");
    assert_eq!(by_id("6")["status"], 429);
    assert_eq!(by_id("7")["status"], 424, "its dependency failed");
    let s = sim.stats();
    assert_eq!(s.graph_requests["v1.0/$batch"], 1);
    assert_eq!(s.graph_requests["v1.0/userRegistrationDetails"], 2);
    assert_eq!(s.throttled, 2);

    // Malformed batches are refused whole.
    let many: Vec<Value> =
        (0..21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/directoryRoles"})).collect();
    let a = batch(&c, &sim, &t, &json!({ "requests": many })).await;
    assert_eq!((a.status, error_code(&a)), (400, "BadRequest".to_owned()));
    let dup = json!({"requests": [{"id": "a", "method": "GET", "url": "/directoryRoles"}, {"id": "A", "method": "GET", "url": "/directoryRoles"}]});
    assert_eq!(batch(&c, &sim, &t, &dup).await.status, 400);
    let a = send(c.post(format!("{}/beta/$batch", sim.base_url())).bearer_auth(&t).body("not json")).await;
    assert_eq!(a.status, 400);
    let a = send(c.post(format!("{}/v1.0/$batch", sim.base_url())).body(body.to_string())).await;
    assert_eq!(a.status, 401);
    assert_eq!(send(c.get(format!("{}/v1.0/$batch", sim.base_url())).bearer_auth(&t)).await.status, 405);
    // Prefer is per inner request; nested batches and absolute URLs are refused inside.
    let user = sim.issue_delegated_token(DEMO_TENANT_ID, &["AuditLog.Read.All"]);
    let body = json!({"requests": [
        {"id": "p", "method": "GET", "url": "/reports/authenticationMethods/userEventsSummary?$top=1", "headers": {"Prefer": "include-unknown-enum-members"}},
        {"id": "n", "method": "POST", "url": "/$batch", "body": {}, "headers": {"Content-Type": "application/json"}},
        {"id": "x", "method": "GET", "url": "https://graph.microsoft.com/v1.0/directoryRoles"}
    ]});
    let a = send(
        c.post(format!("{}/beta/$batch", sim.base_url()))
            .bearer_auth(&user)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await;
    let j = a.json();
    let rs = j["responses"].as_array().unwrap();
    let get_id = |id: &str| rs.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(get_id("n")["status"], 400);
    assert_eq!(get_id("x")["status"], 400);
    assert!(matches!(get_id("p")["status"].as_u64(), Some(200) | Some(429)));
    sim.shutdown().await;
}

#[tokio::test]
async fn hostile_input_on_the_new_routes() {
    let sim = start(relaxed(200), loopback()).await.unwrap();
    for r in RetirableReport::ALL {
        sim.set_retired(r, false);
    }
    let c = client();
    let t = token(&c, &sim).await;
    let user = sim.issue_delegated_token(DEMO_TENANT_ID, &["AuditLog.Read.All", "Reports.Read.All"]);
    let base = sim.base_url();
    let long = "x".repeat(10_000);
    let paths = [
        "/beta/reports/authenticationMethods/userEventsSummary?$filter=eventDateTime%20ge%209999-99-99T99:99:99Z".to_owned(),
        "/beta/reports/authenticationMethods/userEventsSummary?$filter=authMethod%20eq%20microsoft.graph.usageAuthMethod'".to_owned(),
        "/beta/reports/authenticationMethods/userEventsSummary?$skiptoken=%FF_1".to_owned(),
        format!("/beta/reports/authenticationMethods/userEventsSummary?$skiptoken={}_1.1", "a".repeat(64)),
        format!("/beta/reports/authenticationMethods/userEventsSummary?$filter={long}"),
        "/beta/reports/authenticationMethods/userRegistrationActivity(period=''')".to_owned(),
        "/beta/reports/authenticationMethods/userRegistrationActivity(period='d1',period='d7')".to_owned(),
        "/beta/reports/authenticationMethods/userRegistrationActivity(period='d1')?$filter=successfulActivityCount%20gt%20-99999999999999999999".to_owned(),
        "/beta/reports/getCredentialUsageSummary(period=D30)".to_owned(),
        "/beta/reports/getCredentialUsageSummary(".to_owned(),
        "/beta/reports/credentialUserRegistrationDetails?$skiptoken=1".to_owned(),
        "/beta/reports/credentialUserRegistrationDetails?$filter=authMethods/any(t:t/any(u:u%20eq%20'x'))".to_owned(),
        "/beta/reports/authenticationMethods/userPasswordResetsAndChangesSummary?$filter=passwordResetsByAdminCount%20gt%20'x'".to_owned(),
        "/v1.0/directoryRoles(roleTemplateId='%FF')/members".to_owned(),
        "/v1.0/directoryRoles//members".to_owned(),
        "/v1.0/directoryRoles/x/members/y".to_owned(),
        format!("/v1.0/directoryRoles/{long}"),
    ];
    for p in &paths {
        for tok in [&t, &user] {
            let a = get(&c, &format!("{base}{p}"), tok).await;
            assert!((400..500).contains(&a.status), "{p}: {} {}", a.status, a.text);
            let _ = a.json();
        }
    }
    for body in [
        "",
        "[]",
        "{\"requests\":{}}",
        "{\"requests\":[null]}",
        "{\"requests\":[{\"id\":\"1\",\"method\":\"\\u0000\",\"url\":\"/x\"}]}",
    ] {
        let a = send(c.post(format!("{base}/v1.0/$batch")).bearer_auth(&t).body(body)).await;
        assert!(a.status == 400 || a.status == 200, "{body}: {} {}", a.status, a.text);
        let _ = a.json();
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(send(c.post(format!("{base}/v1.0/$batch")).bearer_auth(&t).body(deep)).await.status, 400);
    for body in [
        "grant_type=urn:ietf:params:oauth:grant-type:device_code",
        "grant_type=refresh_token&refresh_token=%00",
        "scope=%FF&client_id=%FF",
    ] {
        for endpoint in ["token", "devicecode"] {
            let a = send(
                c.post(format!("{base}/{DEMO_TENANT_ID}/oauth2/v2.0/{endpoint}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body),
            )
            .await;
            assert!((400..500).contains(&a.status), "{endpoint} {body}: {}", a.text);
        }
    }
    assert_eq!(get(&c, &format!("{base}/v1.0/directoryRoles"), &t).await.status, 200, "still healthy");
    sim.shutdown().await;
}

/// Transitive members of a group: paged, every kind of directory object, users found through nested
/// groups, each object once; the user cast only as an advanced query; 404 for an unknown group, 403
/// without a group permission; and none of it spends the reports quota.
#[tokio::test]
async fn group_transitive_members_for_app_only_clients() {
    let mut cfg = relaxed(2_000);
    cfg.quota_requests = 1; // one report request per window: any group read counted as a report would throttle
    let sim = start(cfg, loopback()).await.unwrap();
    let c = client();
    let t = token(&c, &sim).await;
    let base = sim.base_url();
    let pop = sim.population(DEMO_TENANT_ID);
    let groups = groups_of(&pop, DEMO_TENANT_ID);

    // The test's own closure over the direct memberships.
    let closure = |at: &str| {
        let mut users = HashSet::new();
        let (mut todo, mut done) = (vec![at.to_owned()], HashSet::new());
        while let Some(id) = todo.pop() {
            if !done.insert(id.clone()) {
                continue;
            }
            let g = groups.iter().find(|g| g.id == id).unwrap();
            users.extend(g.users.iter().cloned());
            todo.extend(g.groups.iter().cloned());
        }
        users
    };
    let all_staff = group_object_id(DEMO_TENANT_ID, "All staff");
    let mut url = format!("{base}/v1.0/groups/{all_staff}/transitiveMembers?$select=id&$top=250");
    let (mut users, mut kinds, mut pages) = (HashSet::new(), HashSet::new(), 0);
    loop {
        let a = get(&c, &url, &t).await;
        assert_eq!(a.status, 200, "{}", a.text);
        pages += 1;
        let j = a.json();
        assert_eq!(j["@odata.context"], format!("{base}/v1.0/$metadata#directoryObjects(id)"));
        for m in j["value"].as_array().unwrap() {
            let kind = m["@odata.type"].as_str().unwrap().to_owned();
            if kind == "#microsoft.graph.user" {
                assert!(users.insert(m["id"].as_str().unwrap().to_owned()), "each user once: {m}");
            }
            kinds.insert(kind);
        }
        match j["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    assert!(pages > 3, "{pages} pages");
    assert_eq!(users, closure(&all_staff));
    let want_kinds = ["#microsoft.graph.user", "#microsoft.graph.group", "#microsoft.graph.device"];
    assert_eq!(kinds, want_kinds.iter().map(|k| (*k).to_owned()).collect::<HashSet<_>>());
    assert_eq!(sim.stats().throttled, 0, "group reads do not spend the reports quota");

    // The cast to users: only with ConsistencyLevel: eventual and $count=true.
    let pilot = group_object_id(DEMO_TENANT_ID, "Passkey pilot");
    let cast = format!("{base}/v1.0/groups/{pilot}/transitiveMembers/microsoft.graph.user?$count=true&$top=999");
    let a = get(&c, &cast, &t).await;
    assert_eq!((a.status, error_code(&a).as_str()), (400, "Request_UnsupportedQuery"), "{}", a.text);
    let a = send(c.get(&cast).bearer_auth(&t).header("ConsistencyLevel", "eventual")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let j = a.json();
    let ids: HashSet<String> =
        j["value"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, closure(&pilot));
    assert_eq!(j["@odata.count"], ids.len());
    assert!(j["value"].as_array().unwrap().iter().all(|m| m["@odata.type"] == "#microsoft.graph.user"));

    let a = get(&c, &format!("{base}/v1.0/groups/00000000-0000-0000-0000-000000000001/transitiveMembers"), &t).await;
    assert_eq!((a.status, error_code(&a).as_str()), (404, "Request_ResourceNotFound"), "{}", a.text);
    sim.set_app_roles(DEMO_TENANT_ID, vec!["AuditLog.Read.All".into()]);
    let t = token(&c, &sim).await;
    let a = get(&c, &format!("{base}/v1.0/groups/{pilot}/transitiveMembers"), &t).await;
    assert_eq!((a.status, error_code(&a).as_str()), (403, "Authorization_RequestDenied"), "{}", a.text);
    sim.shutdown().await;
}
