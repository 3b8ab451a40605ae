use super::*;

fn row<'a>(
    user_type: &'a str,
    admin: Option<bool>,
    methods: &[&'a str],
    mfa: bool,
    default: Option<&'a str>,
) -> UserRegistrationDetails<'a> {
    UserRegistrationDetails {
        user_type: Some(user_type.into()),
        is_admin: admin,
        is_mfa_capable: mfa,
        is_mfa_registered: mfa,
        methods_registered: methods.iter().map(|s| (*s).into()).collect(),
        user_preferred_method_for_secondary_authentication: default.map(Into::into),
        last_updated_date_time: Some("2023-03-13T19:15:41.6195833Z".into()),
        ..Default::default()
    }
}

fn all_breakdowns() -> Vec<Breakdown> {
    UserType::ALL
        .iter()
        .flat_map(|&t| UserRole::ALL.iter().map(move |&r| Breakdown { user_type: t, user_role: r }))
        .collect()
}

fn get(s: &RegistrationSummary, t: UserType, r: UserRole) -> &BreakdownSummary {
    s.breakdowns.iter().find(|b| b.breakdown == Breakdown { user_type: t, user_role: r }).unwrap()
}

#[test]
fn breakdowns_partition_users() {
    let mut agg = RegistrationAggregator::new(&all_breakdowns());
    agg.add_page(&[
        row("member", Some(true), &["fido2SecurityKey", "microsoftAuthenticatorPush"], true, Some("push")),
        row("member", Some(false), &["email"], false, Some("")),
        row("guest", None, &[], false, None),
        row("unknownFutureValue", Some(true), &["quantumKey", "quantumKey"], true, Some("oath")),
    ]);
    let s = agg.finish();
    assert_eq!(get(&s, UserType::All, UserRole::All).users, 4);
    assert_eq!(get(&s, UserType::All, UserRole::Admin).users, 2);
    assert_eq!(get(&s, UserType::All, UserRole::User).users, 2);
    assert_eq!(get(&s, UserType::Member, UserRole::All).users, 2);
    assert_eq!(get(&s, UserType::Guest, UserRole::User).users, 1, "null isAdmin counts as user");
    assert_eq!(get(&s, UserType::Guest, UserRole::Admin).users, 0);

    let all = get(&s, UserType::All, UserRole::All);
    assert_eq!(all.features[0], 2, "mfaCapable");
    assert_eq!(all.features[7], 1, "phishingResistantCapable: only the FIDO2 user");
    assert_eq!(all.methods["quantumKey"], 1, "unknown methods pass through, counted once per user");
    assert_eq!(all.methods["passKeySynced"], 0, "known methods are exported as zero");
    assert_eq!(all.default_methods["unset"], 2, "empty and null defaults are 'unset'");
    assert_eq!(all.default_methods["push"], 1);
    assert_eq!(all.method_counts, [1, 2, 1, 0, 0]);
    assert!((s.refresh_timestamp.unwrap() - 1678734941.6195833).abs() < 1e-6);
}

#[test]
fn four_or_more_methods_share_a_bucket_and_bad_timestamps_are_counted() {
    let mut agg = RegistrationAggregator::new(&[Breakdown { user_type: UserType::All, user_role: UserRole::All }]);
    let mut r = row("member", Some(false), &["a", "b", "c", "d", "e"], true, None);
    r.last_updated_date_time = Some("yesterday".into());
    agg.add(&r);
    let s = agg.finish();
    assert_eq!(s.breakdowns[0].method_counts, [0, 0, 0, 0, 1]);
    assert_eq!(s.refresh_timestamp, None);
    assert_eq!(s.unparsable_timestamps, 1);
}

#[test]
fn an_empty_tenant_has_zero_users_and_all_known_series() {
    let s = RegistrationAggregator::new(&all_breakdowns()).finish();
    let all = get(&s, UserType::All, UserRole::All);
    assert_eq!(all.users, 0);
    assert_eq!(all.methods.len(), KNOWN_METHODS.len());
    assert_eq!(all.default_methods.len(), KNOWN_DEFAULT_METHODS.len());
}

#[test]
fn graph_timestamps_parse_like_the_rfc3339_parser() {
    for ts in [
        "2023-03-13T19:15:41.6195833Z",
        "2023-03-13T19:15:41Z",
        "2024-02-29T00:00:00.1Z",
        "1999-12-31T23:59:59.999999999Z",
    ] {
        assert_eq!(parse_utc_timestamp(ts), Some(OffsetDateTime::parse(ts, &Rfc3339).unwrap()), "{ts}");
    }
    // Left to the general parser: offsets, leap seconds, impossible dates, other shapes.
    for ts in [
        "2023-03-13T19:15:41+02:00",
        "2016-12-31T23:59:60Z",
        "2023-02-29T00:00:00Z",
        "2023-03-13T19:15:41.Z",
        "2023-03-13T19:15:41.1234567890Z",
        "yesterday",
        "2023-03-13 19:15:41Z",
    ] {
        assert_eq!(parse_utc_timestamp(ts), None, "{ts}");
    }
}
