"""The Method strength dashboard: the campaign before Microsoft stops SMS and voice for MFA and SSPR
(2027-02-01; Global Administrators and external users 2027-07-01). Users by the strongest tier among
their registered methods, the phone-only users falling to zero, the days left, the admins without a
phishing-resistant method, and the configured groups side by side.
"""

from panels import (B, BLUE, COUNT_ZERO_GOOD, SHARE_ADOPTION, T, bargauge, dashboard, query_var, row, stat,
                    steps, target, timeseries, TENANT_VAR, USER_ROLE_VAR, USER_TYPE_VAR)

ALL = 'user_type="all", user_role="all"'
G = 'group=~"$group"'
PHONE = 'strength="phone"'
TIERS = (" Tiers, strongest first: phishingResistant (FIDO2 keys, passkeys, Windows Hello for Business, macOS"
         " platform credential, certificates), passwordless (Authenticator passwordless), mfa (Authenticator"
         " push, one-time codes, external methods), phone (SMS and voice), none; `[method_strength]` in the"
         " configuration moves methods between tiers. Each user counts once, in their strongest tier.")
DETAILS_ONLY = (" Counted from userRegistrationDetails: empty for tenants with registration_source ="
                " \"summary\", whose report has no per-user methods.")
GROUPS = (" Groups are the [[tenant.group]] tables of the exporter's configuration: the group's transitive"
          " members who are users of the report, after exclude_groups.")
DAYS_LEFT = steps(("red", None), ("orange", 30), ("yellow", 90), ("green", 180))
# From group_available, which a group Graph does not know still has (group_users does not).
GROUP_VAR = query_var("group", "Group", 'label_values(entra_authmethods_group_available{tenant=~"$tenant"}, group)',
                      multi=True, include_all=True, default="$__all")


def days_left(audience):
    return (f'(max(entra_authmethods_sms_voice_retirement_timestamp_seconds{{audience="{audience}"}}) - time())'
            f' / 86400')


strength = dashboard(
    "entra-authmethods-strength",
    "Entra authentication methods / Method strength",
    "Users by their strongest authentication method per tenant and group, and the users who can only do phone "
    "MFA before Microsoft stops SMS and voice, from entra-authmethods-exporter.",
    [TENANT_VAR, USER_TYPE_VAR, USER_ROLE_VAR, GROUP_VAR],
    [
        row("SMS and voice retirement"),
        stat("Days until SMS and voice stop for users", "Days left until 2027-02-01, from which Microsoft no"
             " longer sends MFA and SSPR codes or calls by SMS and voice to users other than Global"
             " Administrators and external users; users whose strongest method is a phone are then blocked"
             " at sign-in until they register another method (Microsoft Entra, \"SMS and voice retirement\").",
             [target(days_left("users"), "users")], "none", DAYS_LEFT, w=4, decimals=0),
        stat("Days until they stop for admins and external users", "Days left until 2027-07-01, when the"
             " retirement reaches Global Administrators and external users.",
             [target(days_left("global_admins_and_external_users"), "Global Administrators and external users")],
             "none", DAYS_LEFT, w=4, decimals=0),
        stat("Phone-only users", "Users whose strongest method is a phone (SMS or voice), per tenant, for all"
             " users: the number the campaign brings to zero. EntraAuthMethodsPhoneOnlyUsersNotFalling opens a"
             " ticket when it does not fall for 7 days in the 90 days before a retirement date." + DETAILS_ONLY,
             [target(f"max by (tenant) (tenant:entra_authmethods_users_by_strongest_method:max{{{T}, {ALL}, {PHONE}}})",
                     "{{tenant}}")], "short", COUNT_ZERO_GOOD, w=8),
        stat("Phone-only change in 7 days", "Change in phone-only users over the last 7 days (or since the"
             " data begins, if later), per tenant; negative is progress." + DETAILS_ONLY,
             [target(f"sum by (tenant) (delta(tenant:entra_authmethods_users_by_strongest_method:max{{{T}, {ALL},"
                     f" {PHONE}}}[7d]))", "{{tenant}}")],
             "short", steps(("green", None), ("red", 0)), w=8),
        timeseries("Phone-only users over time", "Users whose strongest method is a phone, per tenant, for"
                   " the user type and role chosen above." + DETAILS_ONLY,
                   [target(f"tenant:entra_authmethods_users_by_strongest_method:max{{{T}, {B}, {PHONE}}}",
                           "{{tenant}}")], "short", w=12),
        timeseries("Phone-only users per group", "Users whose strongest method is a phone, per configured"
                   " group." + GROUPS + DETAILS_ONLY,
                   [target(f"max by (tenant, group) (entra_authmethods_group_users_by_strongest_method{{{T}, {G},"
                           f" {PHONE}}})", "{{tenant}} {{group}}")], "short", w=12),
        row("Strength tiers"),
        timeseries("Users by strongest method", "Users per tier over time, stacked to the users in scope, for"
                   " the user type and role chosen above." + TIERS + DETAILS_ONLY,
                   [target(f"tenant:entra_authmethods_users_by_strongest_method:max{{{T}, {B}}}",
                           "{{tenant}} {{strength}}")], "short", w=12, stack=True),
        timeseries("Tier shares", "Each tier's share of the users in scope over time; the five add up to"
                   " 100 %. Offboarding hardly moves shares, so a rising phishingResistant share is real"
                   " progress." + TIERS + DETAILS_ONLY,
                   [target(f"tenant:entra_authmethods_users_by_strongest_method:ratio{{{T}, {B}}}",
                           "{{tenant}} {{strength}}")], "percentunit", w=12, decimals=1, minimum=0, maximum=1),
        row("Administrators"),
        stat("Admins without a phishing-resistant method", "Administrators who have a second factor but whose strongest"
             " method is passwordless, mfa or phone, per tenant and role (admin; privilegedAdmin where the"
             " breakdown is configured). Admins without any MFA are counted apart (Adoption dashboard)."
             " Above zero for 6 hours raises EntraAuthMethodsAdminsWithoutPhishingResistantMethod." + DETAILS_ONLY,
             [target(f'max by (tenant, user_role) (tenant:entra_authmethods_admins_without_phishing_resistant:count'
                     f'{{{T}, user_type="all"}})', "{{tenant}} {{user_role}}")],
             "short", COUNT_ZERO_GOOD, w=8, h=8),
        bargauge("Admins by strongest method", "Administrators per tier, per tenant and role." + TIERS
                 + DETAILS_ONLY,
                 [target(f'max by (tenant, user_role, strength) (entra_authmethods_users_by_strongest_method{{{T},'
                         f' user_type="all", user_role=~"admin|privilegedAdmin"}})',
                         "{{tenant}} {{user_role}} {{strength}}", instant=True)],
                 "short", w=16, h=8),
        row("Groups"),
        bargauge("Group members by strongest method (share)", "Each tier's share of a group's users: compare"
                 " a pilot group with a department or the whole tenant." + GROUPS + TIERS,
                 [target(f"max by (tenant, group, strength) (tenant_group:entra_authmethods_group_users_by_strongest_method:ratio"
                         f"{{{T}, {G}}})", "{{tenant}} {{group}} {{strength}}", instant=True)],
                 "percentunit", SHARE_ADOPTION, w=12, h=10, decimals=1, maximum=1),
        bargauge("Group feature shares", "Share of a group's users with each feature (mfaCapable,"
                 " passwordlessCapable, phishingResistantCapable, ssprRegistered, …)." + GROUPS,
                 [target(f"max by (tenant, group, feature) (tenant_group:entra_authmethods_group_users_registered_by_feature:ratio"
                         f"{{{T}, {G}}})", "{{tenant}} {{group}} {{feature}}", instant=True)],
                 "percentunit", SHARE_ADOPTION, w=12, h=10, decimals=1, maximum=1),
        stat("Group users", "Users of the report who are transitive members of each configured group, after"
             " exclusions. The raw counts behind the shares above." + GROUPS,
             [target(f"max by (tenant, group) (entra_authmethods_group_users{{{T}, {G}}})", "{{tenant}} {{group}}")],
             "short", BLUE, w=8),
        bargauge("Group users with each feature", "Users per group and feature, the counts behind the feature"
                 " shares." + GROUPS,
                 [target(f"max by (tenant, group, feature) (entra_authmethods_group_users_registered_by_feature"
                         f"{{{T}, {G}}})", "{{tenant}} {{group}} {{feature}}", instant=True)],
                 "short", w=8, h=5),
        stat("Group members read", "Per group, 1 when its members were read for the sweep whose numbers are"
             " shown, 0 when Graph does not know the group (its counts are then missing); per tenant, whether"
             " the last group_members poll read every group, exclusion groups included (0: an exclusion group"
             " that cannot be read freezes the tenant's registration counts). Either at 0 for an hour raises"
             " EntraAuthMethodsGroupUnavailable, or TenantBlocked for a 403. The status page says which group"
             " and why.",
             [target(f"max by (tenant, group) (entra_authmethods_group_available{{{T}, {G}}})", "{{tenant}} {{group}}"),
              target(f'max by (tenant) (entra_authmethods_poll_success{{{T}, report="group_members"}})',
                     "{{tenant}} group_members poll")],
             "none", steps(("red", None), ("green", 1)), w=4,
             mappings=[{"type": "value", "options": {"0": {"text": "failing", "index": 0},
                                                      "1": {"text": "read", "index": 1}}}]),
        stat("Excluded users", "Users of the report left out of every count because they are members of an"
             " exclude_groups group (break-glass and service accounts).",
             [target(f"max by (tenant) (entra_authmethods_excluded_users{{{T}}})", "{{tenant}}")], "short", BLUE,
             w=4),
    ],
    "now-30d",
)
