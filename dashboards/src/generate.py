#!/usr/bin/env python3
"""Generates the Grafana dashboards in dashboards/*.json.

The JSON files are committed (Grafana provisioning and imports read them as they are); this script is
their source, so that the dashboards share one set of conventions (panels.py holds the building blocks; a dashboard
may live in a module of its own, as strength.py does): the `${datasource}` variable on
every panel and query, a `tenant` variable, stable uids, units, thresholds and a description on every
panel. Edit this file, then run

    python3 dashboards/src/generate.py           # rewrite dashboards/*.json
    python3 dashboards/src/generate.py --check   # exit 1 if the committed JSON is not what this generates

Ratios come from the recording rules in deploy/prometheus/rules/recording.yml, so a panel and an alert
never disagree about the same number. Standard library only.
"""

import json
import pathlib
import sys

from panels import *  # noqa: F401,F403 (the building blocks every dashboard below uses)
from strength import strength

OUT_DIR = pathlib.Path(__file__).resolve().parent.parent


# --- Adoption overview -------------------------------------------------------------------------------

def share(feature):
    return f'max by (tenant) (tenant:entra_authmethods_users_registered_by_feature:ratio{{{T}, {B}, feature="{feature}"}})'


def by_breakdown(feature):
    return (f'max by (tenant, user_type, user_role) '
            f'(tenant:entra_authmethods_users_registered_by_feature:ratio{{{T}, feature="{feature}"}})')


SCOPE = (" Users in scope are the enabled users listed by userRegistrationDetails, for the user type and role"
         " chosen above.")
# Microsoft's usersRegisteredByFeature has five features; phishingResistantCapable, mfaRegistered and
# systemPreferredMethodEnabled exist only with the details source (the default).
SUMMARY_NO_PHISHING = (" Empty for tenants with registration_source = \"summary\": Microsoft's feature summary"
                       " has no phishing-resistant feature (the Methods dashboard still shows the methods).")

adoption = dashboard(
    "entra-authmethods-adoption",
    "Entra authentication methods / Adoption",
    "MFA, SSPR, passwordless and phishing-resistant adoption per tenant, user type and role, from "
    "entra-authmethods-exporter.",
    [TENANT_VAR, USER_TYPE_VAR, USER_ROLE_VAR],
    [
        row("Now"),
        stat("Users in scope", "Users counted by the registration report per tenant." + SCOPE,
             [target(f"max by (tenant) (entra_authmethods_users{{{T}, {B}}})", "{{tenant}}")], "short", BLUE),
        stat("MFA-capable", "Share of users in scope who are mfaCapable: registered a strong method that the"
             " authentication-methods policy allows. Red below 90 %, green from 98 %." + SCOPE,
             [target(share("mfaCapable"), "{{tenant}}")], "percentunit", SHARE_HIGH_GOOD, decimals=1),
        stat("SSPR-capable", "Share of users in scope who are ssprCapable: allowed to use self-service password"
             " reset and registered enough methods for it. Red below 70 %, green from 90 %." + SCOPE,
             [target(share("ssprCapable"), "{{tenant}}")], "percentunit", SHARE_SSPR, decimals=1),
        stat("Passwordless-capable", "Share of users in scope who are passwordlessCapable (a passwordless method"
             " registered and allowed). Orange below 25 %, green from 50 %." + SCOPE,
             [target(share("passwordlessCapable"), "{{tenant}}")], "percentunit", SHARE_ADOPTION, decimals=1),
        stat("Phishing-resistant-capable", "Share of users in scope with a phishing-resistant method registered:"
             " FIDO2 security key, passkey, Windows Hello for Business, macOS platform credential or certificate."
             " Orange below 25 %, green from 50 %." + SCOPE + SUMMARY_NO_PHISHING,
             [target(share("phishingResistantCapable"), "{{tenant}}")], "percentunit", SHARE_ADOPTION, decimals=1),
        stat("Admins without MFA", "Administrators (user_role admin: isAdmin in Graph; privilegedAdmin: members of"
             " the privileged directory roles, where exported) who are not MFA-capable, all user types. Any value"
             " above 0 is red and raises EntraAuthMethodsAdminsWithoutMfa after an hour.",
             [target('max by (tenant, user_role) (tenant:entra_authmethods_users_without_mfa:count'
                     f'{{{T}, user_type="all", user_role=~"admin|privilegedAdmin"}})', "{{tenant}} {{user_role}}")],
             "short", COUNT_ZERO_GOOD, color_mode="background"),
        row("Trends"),
        timeseries("Feature shares", "Share of users in scope per feature over time (mfaCapable, mfaRegistered,"
                   " ssprRegistered, ssprEnabled, ssprCapable, passwordlessCapable, phishingResistantCapable,"
                   " systemPreferredMethodEnabled). Steps appear when the exporter polls (every 30 minutes by"
                   " default) and Microsoft refreshes the report (most users within 36 hours). With registration_source ="
                   " \"summary\" only Microsoft's five features are shown (no phishingResistantCapable,"
                   " mfaRegistered or systemPreferredMethodEnabled)." + SCOPE,
                   [target(f"tenant:entra_authmethods_users_registered_by_feature:ratio{{{T}, {B}}}",
                           "{{tenant}} {{feature}}")],
                   "percentunit", BLUE, decimals=1, minimum=0, maximum=1),
        timeseries("Users in scope and per feature", "Absolute counts behind the shares: users in scope, and"
                   " users per feature. A fall in a feature count with a steady total is what the drop alerts"
                   " look for." + SCOPE,
                   [target(f"entra_authmethods_users{{{T}, {B}}}", "{{tenant}} users in scope"),
                    target(f"entra_authmethods_users_registered_by_feature{{{T}, {B}}}", "{{tenant}} {{feature}}")],
                   "short"),
        timeseries("Users without MFA by role", "Users who are not MFA-capable, per role, for the chosen user"
                   " type (users in scope minus mfaCapable). Admin lines above 0 are red.",
                   [target(f'tenant:entra_authmethods_users_without_mfa:count{{{T}, user_type="$user_type"}}',
                           "{{tenant}} {{user_role}}")],
                   "short", COUNT_ZERO_GOOD),
        timeseries("Change in feature counts over 24 hours", "Estimated change of each feature count over the"
                   " preceding 24 hours (PromQL delta over 24 h). Negative bars mean users lost the feature; the"
                   " drop alerts fire on large falls against the 6-hour peak." + SCOPE,
                   [target(f"delta(entra_authmethods_users_registered_by_feature{{{T}, {B}}}[24h])",
                           "{{tenant}} {{feature}}")],
                   "short"),
        row("By user type and role"),
        bargauge("MFA-capable by user type and role", "mfaCapable share for every user type and role the"
                 " exporter is configured to break down (all, member, guest × all, admin, user, privilegedAdmin)."
                 " Missing bars mean that breakdown has no users.",
                 [target(by_breakdown("mfaCapable"), "{{tenant}} {{user_type}}/{{user_role}}", instant=True)],
                 "percentunit", SHARE_HIGH_GOOD, w=6, decimals=1, maximum=1),
        bargauge("SSPR-capable by user type and role", "ssprCapable share for every configured user type and"
                 " role. Missing bars mean that breakdown has no users.",
                 [target(by_breakdown("ssprCapable"), "{{tenant}} {{user_type}}/{{user_role}}", instant=True)],
                 "percentunit", SHARE_SSPR, w=6, decimals=1, maximum=1),
        bargauge("Passwordless-capable by user type and role", "passwordlessCapable share for every configured"
                 " user type and role. Missing bars mean that breakdown has no users.",
                 [target(by_breakdown("passwordlessCapable"), "{{tenant}} {{user_type}}/{{user_role}}", instant=True)],
                 "percentunit", SHARE_ADOPTION, w=6, decimals=1, maximum=1),
        bargauge("Phishing-resistant by user type and role", "phishingResistantCapable share for every"
                 " configured user type and role. Missing bars mean that breakdown has no users."
                 + SUMMARY_NO_PHISHING,
                 [target(by_breakdown("phishingResistantCapable"), "{{tenant}} {{user_type}}/{{user_role}}",
                         instant=True)],
                 "percentunit", SHARE_ADOPTION, w=6, decimals=1, maximum=1),
        row("Microsoft's legacy registration counts"),
        timeseries("Legacy registration status shares", "Share of enabled users per registration status"
                   " (registered and enabled for SSPR, capable of SSPR or MFA, registered for MFA) as Microsoft's"
                   " getCredentialUserRegistrationCount counts them, next to the exporter's own counts above." + LEGACY,
                   [target(f"tenant:entra_authmethods_credential_user_registrations:ratio{{{T}}}",
                           "{{tenant}} {{status}}")],
                   "percentunit", BLUE, decimals=1, minimum=0, maximum=1),
        timeseries("Legacy registration counts", "Users per registration status and the total of enabled users,"
                   " from getCredentialUserRegistrationCount." + LEGACY,
                   [target(f"entra_authmethods_credential_user_registrations{{{T}}}", "{{tenant}} {{status}}"),
                    target(f"entra_authmethods_credential_users{{{T}}}", "{{tenant}} enabled users")],
                   "short"),
        timeseries("Legacy registration details by status", "Users listed by credentialUserRegistrationDetails, and"
                   " how many of them are registered, enabled and capable for SSPR or registered for MFA." + LEGACY,
                   [target(f"entra_authmethods_credential_details_users_by_status{{{T}}}", "{{tenant}} {{status}}"),
                    target(f"entra_authmethods_credential_details_users{{{T}}}", "{{tenant}} users listed")],
                   "short"),
        bargauge("Legacy registration details by method", "Users per registered method as"
                 " credentialUserRegistrationDetails names them (it does not report FIDO2 or Windows Hello)."
                 + LEGACY,
                 [target(f"sort_desc(entra_authmethods_credential_details_users_by_method{{{T}}})",
                         "{{tenant}} {{method}}", instant=True)],
                 "short"),
    ],
    "now-7d",
)

# --- Methods ---------------------------------------------------------------------------------------------

methods = dashboard(
    "entra-authmethods-methods",
    "Entra authentication methods / Methods",
    "Registered and default authentication methods per tenant, user type and role, and how they change, from "
    "entra-authmethods-exporter.",
    [TENANT_VAR, USER_TYPE_VAR, USER_ROLE_VAR],
    [
        row("Now"),
        bargauge("Users per registered method", "Users who registered each method (methodsRegistered in"
                 " userRegistrationDetails), largest first; a user with several methods counts once per method."
                 + SCOPE,
                 [target(f"sort_desc(max by (tenant, method) (entra_authmethods_users_registered_by_method{{{T}, {B}}}))",
                         "{{tenant}} {{method}}", instant=True)],
                 "short", w=8, h=12),
        bargauge("Users per default method", "Users by their preferred method for secondary authentication"
                 " (push, oath, sms, voice..., none; unset when Graph has no value), largest first." + SCOPE,
                 [target(f"sort_desc(max by (tenant, method) (entra_authmethods_users_by_default_method{{{T}, {B}}}))",
                         "{{tenant}} {{method}}", instant=True)],
                 "short", w=8, h=12),
        bargauge("Users by number of methods", "Users by how many distinct methods they registered: 0, 1, 2, 3"
                 " or 4+. Users with 0 cannot do MFA or SSPR; users with 1 lose access with their only method."
                 + SCOPE,
                 [target(f"max by (tenant, methods) (entra_authmethods_users_by_methods_registered{{{T}, {B}}})",
                         "{{tenant}} {{methods}} methods", instant=True)],
                 "short", w=8, h=12),
        bargauge("Users by strongest method", "Users by the strongest tier among their registered methods:"
                 " phishingResistant > passwordless > mfa > phone > none; each user counts once, so the bars sum"
                 " to the users in scope. phone is who Microsoft's SMS and voice retirement (from 2027-02-01)"
                 " blocks until they register something else." + SCOPE,
                 [target(f"max by (tenant, strength) (entra_authmethods_users_by_strongest_method{{{T}, {B}}})",
                         "{{tenant}} {{strength}}", instant=True)],
                 "short", w=8, h=12),
        bargauge("Phishing-resistant methods", "Users per phishing-resistant method: FIDO2 security keys,"
                 " device-bound and synced passkeys, Windows Hello for Business, macOS platform credential and"
                 " certificate-based authentication." + SCOPE,
                 [target(f'sort_desc(max by (tenant, method) (entra_authmethods_users_registered_by_method{{{T}, {B},'
                         f' method=~"{PHISHING_RESISTANT}"}}))', "{{tenant}} {{method}}", instant=True)],
                 "short", w=12, h=8),
        bargauge("Default method shares", "Share of users in scope per default method; a large 'sms' or"
                 " 'voice…' share means many users fall back to phishable methods." + SCOPE,
                 [target(f"sort_desc(max by (tenant, method) (tenant:entra_authmethods_users_by_default_method:ratio{{{T}, {B}}}))",
                         "{{tenant}} {{method}}", instant=True)],
                 "percentunit", w=12, h=8, decimals=1, maximum=1),
        row("Changes over time"),
        timeseries("Registered methods", "Users per registered method over time." + SCOPE,
                   [target(f"entra_authmethods_users_registered_by_method{{{T}, {B}}}", "{{tenant}} {{method}}")],
                   "short"),
        timeseries("Method shares", "Share of users in scope who registered each method, over time."
                   " Offboarding moves counts but hardly moves shares; a falling share is a real loss." + SCOPE,
                   [target(f"tenant:entra_authmethods_users_registered_by_method:ratio{{{T}, {B}}}",
                           "{{tenant}} {{method}}")],
                   "percentunit", decimals=1, minimum=0, maximum=1),
        timeseries("Change per method over 24 hours", "Estimated change in users per registered method over the"
                   " preceding 24 hours (PromQL delta). A deep negative line for one method is what"
                   " EntraAuthMethodsMethodRegistrationsDropped pages on." + SCOPE,
                   [target(f"delta(entra_authmethods_users_registered_by_method{{{T}, {B}}}[24h])",
                           "{{tenant}} {{method}}")],
                   "short"),
        timeseries("Default methods", "Users per default (preferred secondary) method over time." + SCOPE,
                   [target(f"entra_authmethods_users_by_default_method{{{T}, {B}}}", "{{tenant}} {{method}}")],
                   "short"),
        timeseries("Number of methods per user", "Users by number of registered methods over time, stacked."
                   + SCOPE,
                   [target(f"entra_authmethods_users_by_methods_registered{{{T}, {B}}}",
                           "{{tenant}} {{methods}} methods")],
                   "short", stack=True),
        timeseries("Users with no method", "Users in scope without any registered method: they can neither"
                   " use MFA nor reset their password themselves." + SCOPE,
                   [target(f'entra_authmethods_users_by_methods_registered{{{T}, {B}, methods="0"}}', "{{tenant}}")],
                   "short"),
    ],
    "now-7d",
)

# --- Activity and failure rates -------------------------------------------------------------------------

P = 'period="$period"'

activity = dashboard(
    "entra-authmethods-activity",
    "Entra authentication methods / Activity and failure rates",
    "Registration, password reset and sign-in activity by method, failure ratios and failure reasons, from "
    "entra-authmethods-exporter. These reports are optional: panels whose report is not polled stay empty and "
    "say which report feeds them.",
    [TENANT_VAR, custom_var("period", "Period", ["d1", "d7", "d30"], "d1")],
    [
        row("Registration and reset (userRegistrationActivity)"),
        stat("Registration failure ratio", "Failed / all security-info registration attempts over the chosen"
             " period, from userRegistrationActivity. Orange from 10 %, red from 25 %; the alert"
             " EntraAuthMethodsFailureRatioHigh compares the last day with the 30-day ratio." + DELEGATED,
             [target(f'tenant:entra_authmethods_registration_activities:failure_ratio{{{T}, {P}, feature="registration"}}',
                     "{{tenant}}")],
             "percentunit", FAILURE_RATIO, w=6, decimals=1),
        stat("Reset failure ratio", "Failed / all self-service password reset attempts over the chosen period,"
             " from userRegistrationActivity. Orange from 10 %, red from 25 %." + DELEGATED,
             [target(f'tenant:entra_authmethods_registration_activities:failure_ratio{{{T}, {P}, feature="reset"}}',
                     "{{tenant}}")],
             "percentunit", FAILURE_RATIO, w=6, decimals=1),
        timeseries("Failure ratios over time", "Registration and reset failure ratios for the chosen period"
                   " (each point covers the period before it)." + DELEGATED,
                   [target(f"tenant:entra_authmethods_registration_activities:failure_ratio{{{T}, {P}}}",
                           "{{tenant}} {{feature}}")],
                   "percentunit", FAILURE_RATIO, decimals=1, minimum=0, maximum=1, threshold_lines=True),
        bargauge("Registrations by method and outcome", "Security-info registration attempts per method,"
                 " split into success and failure, over the chosen period." + DELEGATED,
                 [target(f'sort_desc(sum by (tenant, method, outcome) (entra_authmethods_registration_activities'
                         f'{{{T}, {P}, feature="registration"}}))', "{{tenant}} {{method}} {{outcome}}", instant=True)],
                 "short", w=8, h=10),
        bargauge("Resets by method and outcome", "Self-service password reset attempts per verification method,"
                 " split into success and failure, over the chosen period." + DELEGATED,
                 [target(f'sort_desc(sum by (tenant, method, outcome) (entra_authmethods_registration_activities'
                         f'{{{T}, {P}, feature="reset"}}))', "{{tenant}} {{method}} {{outcome}}", instant=True)],
                 "short", w=8, h=10),
        bargauge("Failure ratio by method", "Failed / all attempts per feature and method over the chosen"
                 " period; a single method far above the others points at that method's provider or policy."
                 + DELEGATED,
                 [target(f"sort_desc(tenant_method:entra_authmethods_registration_activities:failure_ratio{{{T}, {P}}})",
                         "{{tenant}} {{feature}} {{method}}", instant=True)],
                 "percentunit", FAILURE_RATIO, w=8, h=10, decimals=1, maximum=1),
        row("Sign-ins (userSignInsByAuthMethodSummary, userMfaSignInSummary)"),
        bargauge("Successful sign-ins by method", "Successful sign-ins per authentication method over the chosen"
                 " period, from userSignInsByAuthMethodSummary." + DELEGATED,
                 [target(f"sort_desc(sum by (tenant, method) (entra_authmethods_sign_ins_by_method{{{T}, {P}}}))",
                         "{{tenant}} {{method}}", instant=True)],
                 "short", w=8, h=10),
        timeseries("Sign-ins by method over time", "Successful sign-ins per method for the chosen period, as"
                   " each poll saw it." + DELEGATED,
                   [target(f"entra_authmethods_sign_ins_by_method{{{T}, {P}}}", "{{tenant}} {{method}}")],
                   "short", w=8, h=10),
        stat("Sign-ins with MFA", "Share of the newest day's sign-ins that were multi-factor, from"
             " userMfaSignInSummary. Red below 90 %, green from 98 %." + APP_OR_DELEGATED,
             [target(f"tenant:entra_authmethods_mfa_sign_ins:multi_factor_ratio{{{T}}}", "{{tenant}}")],
             "percentunit", SHARE_HIGH_GOOD, w=8, h=10, decimals=1),
        timeseries("Sign-ins by kind", "Sign-ins of the newest day: total, multi-factor and single-factor, from"
                   " userMfaSignInSummary." + APP_OR_DELEGATED,
                   [target(f"entra_authmethods_mfa_sign_ins{{{T}}}", "{{tenant}} {{kind}}")],
                   "short"),
        timeseries("Password resets and changes", "Password resets by admins (admin_reset), self-service"
                   " resets (self_service_reset) and self-service changes (self_service_change) of the newest day,"
                   " from userPasswordResetsAndChangesSummary." + APP_OR_DELEGATED,
                   [target(f"entra_authmethods_password_resets_and_changes{{{T}}}", "{{tenant}} {{kind}}")],
                   "short", w=8),
        stat("Day of the daily summaries", "The day the newest sign-in (userMfaSignInSummary) and password reset"
             " (userPasswordResetsAndChangesSummary) counts are for. Microsoft publishes a day after it ends;"
             " older than two days means the report or the poll is behind." + APP_OR_DELEGATED,
             [target(f"max by (tenant) (entra_authmethods_mfa_sign_ins_day_timestamp_seconds{{{T}}}) * 1000",
                     "{{tenant}} sign-ins"),
              target(f"max by (tenant) (entra_authmethods_password_resets_and_changes_day_timestamp_seconds{{{T}}}) * 1000",
                     "{{tenant}} password resets")],
             "dateTimeFromNow", BLUE, w=4, h=8),
        row("Events and failure reasons (userEventsSummary)"),
        bargauge("Events by method and outcome", "Registration and reset events per feature, method and outcome"
                 " within the exporter's lookback window, from userEventsSummary." + APP_OR_DELEGATED,
                 [target(f"sort_desc(entra_authmethods_user_events{{{T}}})",
                         "{{tenant}} {{feature}} {{method}} {{outcome}}", instant=True)],
                 "short", w=8, h=10),
        bargauge("Event failure ratio by method", "Failed / all events per feature and method within the"
                 " lookback window, from userEventsSummary." + APP_OR_DELEGATED,
                 [target(f"sort_desc(tenant_method:entra_authmethods_user_events:failure_ratio{{{T}}})",
                         "{{tenant}} {{feature}} {{method}}", instant=True)],
                 "percentunit", FAILURE_RATIO, w=8, h=10, decimals=1, maximum=1),
        bargauge("Top failure reasons", "The most frequent failure reasons of registration and reset events"
                 " (the exporter keeps the top reasons and sums the rest as 'other'), from userEventsSummary."
                 + APP_OR_DELEGATED,
                 [target(f"sort_desc(topk(10, entra_authmethods_user_event_failures{{{T}}}))",
                         "{{tenant}} {{feature}}: {{reason}}", instant=True)],
                 "short", w=8, h=10),
        timeseries("Event failure ratios over time", "Failed / all registration and reset events within the"
                   " lookback window, over time. EntraAuthMethodsUserEventFailureRatioHigh fires when a ratio"
                   " is above 25 % and twice its 7-day average, with at least 20 events." + APP_OR_DELEGATED,
                   [target(f"tenant:entra_authmethods_user_events:failure_ratio{{{T}}}", "{{tenant}} {{feature}}")],
                   "percentunit", FAILURE_RATIO, w=24, decimals=1, minimum=0, maximum=1, threshold_lines=True),
        row("Legacy credential usage (getCredentialUsageSummary)"),
        bargauge("Legacy registration and reset activity", "Successful and failed registration and reset"
                 " activity per method over the chosen period (d1, d7, d30), from getCredentialUsageSummary."
                 + LEGACY,
                 [target(f'sort_desc(sum by (tenant, feature, method, outcome) (entra_authmethods_credential_usage_activities'
                         f'{{{T}, period=~"(?i)$period"}}))', "{{tenant}} {{feature}} {{method}} {{outcome}}",
                         instant=True)],
                 "short", w=12, h=10),
        timeseries("Legacy failure ratios", "Failed / all registration and reset activity over the chosen"
                   " period, from getCredentialUsageSummary, with the per-method ratios." + LEGACY,
                   [target(f'tenant:entra_authmethods_credential_usage_activities:failure_ratio{{{T}, period=~"(?i)$period"}}',
                           "{{tenant}} {{feature}}"),
                    target('tenant_method:entra_authmethods_credential_usage_activities:failure_ratio'
                           f'{{{T}, period=~"(?i)$period"}}', "{{tenant}} {{feature}} {{method}}")],
                   "percentunit", FAILURE_RATIO, w=12, h=10, decimals=1, minimum=0, maximum=1),
        bargauge("Legacy events by method and outcome", "Registration and reset events per method and outcome"
                 " that userCredentialUsageDetails returns." + LEGACY,
                 [target(f"sort_desc(entra_authmethods_credential_usage_events{{{T}}})",
                         "{{tenant}} {{feature}} {{method}} {{outcome}}", instant=True)],
                 "short", w=12, h=10),
        bargauge("Legacy top failure reasons", "The most frequent failure reasons in userCredentialUsageDetails"
                 " (top reasons per feature, the rest as 'other')." + LEGACY,
                 [target(f"sort_desc(topk(10, entra_authmethods_credential_usage_event_failures{{{T}}}))",
                         "{{tenant}} {{feature}}: {{reason}}", instant=True)],
                 "short", w=12, h=10),
    ],
    "now-7d",
)

# --- Exporter health --------------------------------------------------------------------------------------

UP_DOWN = [{"type": "value", "options": {
    "0": {"text": "Down", "color": "red", "index": 0},
    "1": {"text": "Up", "color": "green", "index": 1}}}]
POLL_STATE = [{"type": "value", "options": {
    "0": {"text": "Failing", "color": "red", "index": 0},
    "1": {"text": "OK", "color": "green", "index": 1}}}]
BLOCKED_STATE = [{"type": "value", "options": {
    "0": {"text": "No", "color": "green", "index": 0},
    "1": {"text": "Blocked", "color": "red", "index": 1}}}]
AVAILABLE_STATE = [{"type": "value", "options": {
    "0": {"text": "Unavailable", "color": "orange", "index": 0},
    "1": {"text": "Available", "color": "green", "index": 1}}}]

health = dashboard(
    "entra-authmethods-health",
    "Entra authentication methods / Exporter health",
    "Is entra-authmethods-exporter polling Microsoft Graph successfully, how fresh is its data, and how is "
    "Graph answering.",
    [query_var("job", "Job", "label_values(entra_authmethods_build_info, job)", multi=True, include_all=True,
               default="$__all"),
     TENANT_VAR],
    [
        row("Status"),
        stat("Exporter scrape", "Whether Prometheus can scrape each exporter target (up). Down for 10 minutes"
             " raises EntraAuthMethodsExporterDown.",
             [target('up{job=~"$job"}', "{{instance}}")], "none", steps(("red", None), ("green", 1)), w=4,
             mappings=UP_DOWN, color_mode="background"),
        stat("Latest poll", "Outcome of the latest poll per tenant and report (entra_authmethods_poll_success)."
             " A failed poll keeps the previous data; see the failures by reason below.",
             [target(f"entra_authmethods_poll_success{{{T}}}", "{{tenant}} {{report}}")], "none",
             steps(("red", None), ("green", 1)), w=5, mappings=POLL_STATE, color_mode="background"),
        stat("Blocked by licence or permission", "1 while the latest poll of a report failed because Graph"
             " refused it with forbidden or unauthorized"
             " (recording rule tenant_report:entra_authmethods_poll_blocked:bool, also behind"
             " EntraAuthMethodsTenantBlocked): a missing licence, consent or credential. Fix it in Entra;"
             " no retry helps.",
             [target(f"tenant_report:entra_authmethods_poll_blocked:bool{{{T}}}", "{{tenant}} {{report}}")], "none",
             COUNT_ZERO_GOOD, w=5, mappings=BLOCKED_STATE, color_mode="background"),
        stat("Data age in poll intervals", "Age of the newest successful poll divided by the poll interval: 1"
             " is normal, 2 means a poll was missed, above 3 raises EntraAuthMethodsDataStale. Reports that"
             " are retired or not offered in the tenant's cloud (Report availability: Unavailable) are left"
             " out: the exporter checks them only once a day.",
             [target(f"tenant_report:entra_authmethods_data_age:poll_intervals{{{T}}}", "{{tenant}} {{report}}")],
             "none", AGE_INTERVALS, w=5, decimals=1),
        stat("Report availability", "Whether Microsoft still serves each report (entra_authmethods_report_available):"
             " 0 when Graph says the API is retired or gone; the exporter re-checks daily. Unavailable reports"
             " raise no stale alerts.",
             [target(f"entra_authmethods_report_available{{{T}}}", "{{tenant}} {{report}}")], "none",
             steps(("orange", None), ("green", 1)), w=5, mappings=AVAILABLE_STATE),
        table("Newest poll error", "The error of each tenant and report whose latest poll failed"
              " (entra_authmethods_poll_success 0): its failure reason and Microsoft Graph's error code"
              " (recording rule tenant_report:entra_authmethods_last_error_info:failing). Errors already"
              " fixed by a later successful poll are not listed, although entra_authmethods_last_error_info"
              " keeps them. The exporter's status page (/) and log line add the message and a hint; the"
              " troubleshooting table in docs/troubleshooting.md maps each code to a fix. Empty while every report's latest"
              " poll succeeded.",
              [target(f"tenant_report:entra_authmethods_last_error_info:failing{{{T}}}", instant=True, fmt="table")],
              "none", ["Time", "__name__", "job", "instance", "Value"], w=24, h=5),
        row("Freshness"),
        timeseries("Data age", "Time since the last successful poll per tenant and report. It grows by the poll"
                   " interval between polls and falls back at each success. Unavailable (retired) reports are"
                   " left out.",
                   [target(f"tenant_report:entra_authmethods_data_age:seconds{{{T}}}", "{{tenant}} {{report}}")],
                   "s", w=8),
        stat("Client certificate valid from", "When the client certificate of tenants using the certificate"
             " credential became or becomes valid (entra_authmethods_client_certificate_not_before_timestamp_seconds,"
             " read at each token request). A date in the future means Entra refuses the certificate until"
             " then (AADSTS700027) and the polls fail: use a certificate that is valid now. Empty for tenants"
             " using a client secret or workload identity.",
             [target(f"entra_authmethods_client_certificate_not_before_timestamp_seconds{{{T}}} * 1000",
                     "{{tenant}}")],
             "dateTimeFromNow", BLUE, w=4, h=8),
        stat("Client certificate expires", "When the client certificate of tenants using the certificate"
             " credential expires (entra_authmethods_client_certificate_expiry_timestamp_seconds, read at each"
             " token request). Empty for tenants using a client secret or workload identity. Upload a new"
             " certificate to the app registration and replace the files before this date; no restart is needed.",
             [target(f"entra_authmethods_client_certificate_expiry_timestamp_seconds{{{T}}} * 1000", "{{tenant}}")],
             "dateTimeFromNow", BLUE, w=4, h=8),
        stat("Serving certificate expires", "When the certificate the exporter serves its endpoints with over TLS"
             " expires (entra_authmethods_web_tls_certificate_expiry_timestamp_seconds; follows its rotation)."
             " Empty when the exporter serves plain HTTP. Replace tls_server_config's cert_file and key_file"
             " before this date; EntraAuthMethodsWebCertificateExpiring fires 14 days ahead.",
             [target('entra_authmethods_web_tls_certificate_expiry_timestamp_seconds{job=~"$job"} * 1000',
                     "{{instance}}")],
             "dateTimeFromNow", BLUE, w=4, h=8),
        stat("Poll overrun", "1 when the latest poll of a report took longer than its interval"
             " (entra_authmethods_poll_overrun): polls then run back to back and the data ages by a whole"
             " sweep. Raise the report's interval (a 1,000,000-user tenant needs about 35 minutes per"
             " sweep at Graph's quota).",
             [target(f"entra_authmethods_poll_overrun{{{T}}}", "{{tenant}} {{report}}")], "none",
             COUNT_ZERO_GOOD, w=4, h=8),
        stat("Label values folded", "Distinct method names from Graph folded into method=\"other\" per tenant"
             " (entra_authmethods_label_values_folded; label method, or default_method, feature or status for"
             " those labels): Graph sent more values beyond the documented ones than graph.max_method_values allows."
             " Zero in a normal tenant. Raise max_method_values, or name the methods in [method_strength].",
             [target(f"entra_authmethods_label_values_folded{{{T}}}", "{{tenant}} {{label}}")], "none",
             COUNT_ZERO_GOOD, w=4, h=8),
        stat("Poll interval", "Configured interval between polls per tenant and report"
             " (entra_authmethods_poll_interval_seconds); the staleness limit is three of them.",
             [target(f"entra_authmethods_poll_interval_seconds{{{T}}}", "{{tenant}} {{report}}")], "s", BLUE,
             w=4, h=8),
        stat("Microsoft refreshed the report", "When Microsoft last refreshed the registration data (newest"
             " lastUpdatedDateTime in userRegistrationDetails). Microsoft updates most users within 36 hours.",
             [target(f"max by (tenant) (entra_authmethods_report_refresh_timestamp_seconds{{{T}}}) * 1000",
                     "{{tenant}}")], "dateTimeFromNow", BLUE, w=4, h=8),
        timeseries("Poll duration", "Wall time of the latest poll per tenant and report; about 2 s per 1,000"
                   " users at Graph's report quota.",
                   [target(f"entra_authmethods_poll_duration_seconds{{{T}}}", "{{tenant}} {{report}}")],
                   "s", w=8),
        timeseries("Poll progress", "Pages read by the running poll of each report, or by its last poll"
                   " (entra_authmethods_poll_pages_read), and the polls running per tenant"
                   " (entra_authmethods_poll_in_progress). Updated every few seconds during a sweep: a first"
                   " sweep of a large tenant takes minutes at Graph's quota. The status page (/) shows the page"
                   " count to expect and an estimated finish.",
                   [target(f"entra_authmethods_poll_pages_read{{{T}}}", "{{tenant}} {{report}} pages"),
                    target(f"sum by (tenant) (entra_authmethods_poll_in_progress{{{T}}})", "{{tenant}} polls running")],
                   "short", w=8),
        row("Polls and Graph"),
        timeseries("Polls per hour", "Completed polls per tenant and report in the preceding hour.",
                   [target(f"sum by (tenant, report) (increase(entra_authmethods_polls_total{{{T}}}[1h]))",
                           "{{tenant}} {{report}}")],
                   "short", w=8),
        timeseries("Poll failures by reason per hour", "Failed polls in the preceding hour by reason"
                   " (throttled, unauthorized, forbidden, not_found, server_error, timeout, decode, network,"
                   " config, internal). The troubleshooting table in docs/troubleshooting.md maps each reason to a fix.",
                   [target(f"sum by (tenant, report, reason) (increase(entra_authmethods_poll_failures_total{{{T}}}[1h]))",
                           "{{tenant}} {{report}} {{reason}}")],
                   "short", steps(("green", None), ("red", 1)), w=8),
        timeseries("Graph requests by status per hour", "Requests to Microsoft Graph in the preceding hour by"
                   " operation and HTTP status (network or timeout when there was no answer); 429 is throttling.",
                   [target(f"sum by (tenant, endpoint, code) (increase(entra_authmethods_graph_requests_total{{{T}}}[1h]))",
                           "{{tenant}} {{endpoint}} {{code}}")],
                   "short", w=8),
        stat("Throttled requests in 24 hours", "Graph requests answered 429 (throttled) in the preceding 24"
             " hours. The exporter paces itself below the quota; throttling means another client shares the"
             " app's quota.",
             [target(f'sum by (tenant) (increase(entra_authmethods_graph_requests_total{{{T}, code="429"}}[24h]))'
                     f" or sum by (tenant) (entra_authmethods_graph_requests_total{{{T}}}) * 0", "{{tenant}}")],
             "short", steps(("green", None), ("orange", 1)), w=8, h=6),
        timeseries("Token requests by outcome per hour", "Access-token requests to the Microsoft identity"
                   " platform in the preceding hour, success or failure; failures come with an AADSTS code in"
                   " the log.",
                   [target(f"sum by (tenant, outcome) (increase(entra_authmethods_token_requests_total{{{T}}}[1h]))",
                           "{{tenant}} {{outcome}}")],
                   "short", w=16, h=6),
        row("Inventory"),
        table("Tenants", "Configured tenants with their Entra tenant ID and cloud (entra_authmethods_tenant_info).",
              [target(f"entra_authmethods_tenant_info{{{T}}}", instant=True, fmt="table")], "none",
              ["Time", "Value", "__name__", "job", "instance"]),
        table("Exporter build", "Version and source revision of each exporter instance (entra_authmethods_build_info).",
              [target('entra_authmethods_build_info{job=~"$job"}', instant=True, fmt="table")], "none",
              ["Time", "Value", "__name__"]),
        stat("Last configuration reload", "1 if each exporter instance's last configuration reload succeeded,"
             " 0 if its new file was rejected and the previous configuration still runs"
             " (entra_authmethods_config_last_reload_successful). The time of the running configuration is"
             " entra_authmethods_config_last_reload_success_timestamp_seconds.",
             [target('entra_authmethods_config_last_reload_successful{job=~"$job"}', "{{instance}}"),
              target('time() - entra_authmethods_config_last_reload_success_timestamp_seconds{job=~"$job"}',
                     "{{instance}} age")],
             "short", steps(("red", None), ("green", 1)), w=8, h=6),
        row("Exporter process"),
        timeseries("Exporter memory", "Resident memory of each exporter instance (process_resident_memory_bytes):"
                   " about 10 MiB plus 50 kB per tenant when idle, twice that per tenant while the exposition"
                   " renders. Compare with the container's memory limit (256 MiB in the Kubernetes manifests).",
                   [target('process_resident_memory_bytes{job=~"$job"}', "{{instance}}")], "bytes", w=8, h=6),
        timeseries("Exporter CPU", "CPU time per second used by each exporter instance"
                   " (rate of process_cpu_seconds_total), in cores.",
                   [target('rate(process_cpu_seconds_total{job=~"$job"}[$__rate_interval])', "{{instance}}")], "short", w=8, h=6),
        stat("Exporter restarts in 24 hours", "How often each exporter instance started again in the preceding"
             " 24 hours (changes of process_start_time_seconds); a crash loop raises"
             " EntraAuthMethodsExporterRestarting. A rollout's new pods are new instances and do not count.",
             [target('changes(process_start_time_seconds{job=~"$job"}[24h])', "{{instance}}")], "short",
             COUNT_ZERO_GOOD, w=8, h=6),
    ],
    "now-24h",
)

DASHBOARDS = {
    "adoption.json": adoption,
    "methods.json": methods,
    "activity.json": activity,
    "exporter-health.json": health,
    "strength.json": strength,
}


def render(d):
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv[1:]
    stale = []
    for name, d in DASHBOARDS.items():
        path = OUT_DIR / name
        text = render(d)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("generated dashboards differ from the committed JSON: " + ", ".join(stale), file=sys.stderr)
        print("edit dashboards/src/generate.py and run: python3 dashboards/src/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
