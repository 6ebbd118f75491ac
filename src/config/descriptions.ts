/**
 * What each configuration key means, for docs/config-reference.md (src/config/reference.ts). Keyed by the path
 * the reference shows: `slack.command`, `policy.<action>.rules[].approvals`, `backends.<name>.url`. A key without
 * an entry here (or a `.describe()` on its schema) stops the generator, so a new key cannot go undocumented.
 */
export const ENV_DESCRIPTIONS: Record<string, string> = {
  SLACK_BOT_TOKEN: 'Bot User OAuth Token (xoxb-...), from the Slack app page OAuth & Permissions. Required.',
  SLACK_APP_TOKEN:
    'App-level token (xapp-...) with connections:write, from Basic Information > App-Level Tokens. Required in ' +
    'Socket Mode.',
  SLACK_SIGNING_SECRET: 'Signing secret from Basic Information > App Credentials. Required in HTTP mode.',
  SLACK_MODE:
    '`socket` (default when SLACK_APP_TOKEN is set or no signing secret is) or `http` (Slack posts to ' +
    '/slack/events on PORT).',
  SLACK_API_URL: 'Base URL of the Slack Web API; only for GovSlack (https://slack-gov.com/api/) or tests.',
  PORT: 'HTTP mode: the port of /slack/events, /healthz, /readyz and /metrics.',
  HEALTH_PORT: 'Socket Mode: the port of /healthz, /readyz and /metrics (unset: none are served; 0: any free port).',
  CONFIG_FILE: 'Path of the config file (YAML or JSON).',
  STORE_URL:
    'Where requests and the audit log live: sqlite://./data/accountdesk.sqlite (default), ' +
    'sqlite:///absolute/path.sqlite, redis://[user:password@]host:6379[/db] or rediss:// (TLS). Redis for ' +
    'several replicas.',
  STORE_NAMESPACE: 'Key prefix in the store, so several deployments can share one Redis.',
  LOG_LEVEL: 'Log level.',
  LOG_PRETTY: '`1` or `true`: readable logs instead of JSON lines (development).',
};

export const CONFIG_DESCRIPTIONS: Record<string, string> = {
  slack: 'Slack settings.',
  'slack.command': 'The slash command, exactly as in the Slack app manifest.',
  'slack.approvalsChannel': 'ID (C... or G..., not #name) of the channel where approval cards are posted.',
  'slack.auditChannel': 'ID of the channel that gets one line per event, and the daily audit anchor.',
  'slack.postsPerSecond':
    'Messages AccountDesk posts per second to one channel (cards, audit lines, DMs). Slack allows about 1 per ' +
    'second per channel; more is answered with HTTP 429 and a Retry-After, which AccountDesk then waits out.',
  'slack.postBurst': 'Messages that may go to one channel at once before the pace above applies (short bursts).',
  approvers: 'Who may approve. Empty: nobody can (requests wait until they expire).',
  'approvers.users': 'Slack user IDs (U...).',
  'approvers.groups': 'Slack user-group IDs (S...); their members count as listed.',
  requesters: 'Who may ask for changes. Leave out to let everyone in the workspace ask.',
  'requesters.users': 'Slack user IDs (U...).',
  'requesters.groups': 'Slack user-group IDs (S...).',
  policy: 'How many approvals each action needs, and when requests expire.',
  'policy.defaults': 'What applies to every action unless its own entry says otherwise.',
  'policy.defaults.approvals': 'Approvals a request needs.',
  'policy.defaults.expiresAfter': 'Time after which an undecided request expires (30m, 72h, 7d); 72h when unset.',
  'policy.defaults.maxAhead':
    'How far ahead an until:<date> or for:<duration> may reach (12h, 30d, 2w); 365d when unset.',
  'policy.defaults.noticeBefore':
    'How long before a scheduled step runs the requester gets a DM (12h, 3d, 1w); 3d when unset.',
  'policy.<action>': "One action's policy.",
  'policy.<action>.enabled':
    'Offer this action. Default: on for create, disable, enable, quota, reinvite; off for delete, join, leave.',
  'policy.<action>.approvals': 'Approvals this action needs (default: policy.defaults.approvals).',
  'policy.<action>.expiresAfter': "Expiry of this action's requests (default: policy.defaults.expiresAfter).",
  'policy.<action>.maxAhead': "Furthest time limit on this action's requests (default: policy.defaults.maxAhead).",
  'policy.<action>.noticeBefore':
    "Notice before this action's scheduled steps run (default: policy.defaults.noticeBefore).",
  'policy.<action>.rules':
    "A request needs the highest approval count among the action's own and every rule it matches.",
  'policy.<action>.rules[].quotaAbove': 'The rule applies when the requested quota is above this size (50GB, 1 TB).',
  'policy.<action>.rules[].backends': 'The rule applies to these backends only.',
  'policy.<action>.rules[].approvals': 'Approvals needed when the rule applies.',
  'policy.<action>.rules[].profiles': 'The rule applies to onboardings with these profiles only (policy.onboard).',
  'policy.defaults.reminders':
    'When to remind the approvers of a request nobody decided, in a reply under its card, and whom to escalate it ' +
    'to after that; `none`: no reminders. Unset: a reminder after 4h, no escalation.',
  'policy.defaults.reminders.after':
    'Time after the request before the reminder (30m, 4h, 2d), counting business hours only when they are set; ' +
    '4h when unset.',
  'policy.defaults.reminders.escalateAfter':
    'Time after the reminder before the request is escalated (same units; default: the same as after). Needs ' +
    'escalateTo.',
  'policy.defaults.reminders.escalateTo': 'Who gets the escalation: users (a DM each), a channel, or both.',
  'policy.defaults.reminders.escalateTo.users': 'Slack user IDs (U...) that get the escalation as a DM.',
  'policy.defaults.reminders.escalateTo.channel':
    'ID of a channel (C... or G...) the escalation is posted in; the app must be a member.',
  'policy.defaults.reminders.businessHours':
    'Count only the time inside these hours towards after and escalateAfter (a request sent on Friday evening ' +
    'is reminded on Monday). Unset: every hour counts.',
  'policy.defaults.reminders.businessHours.days': 'Working days: sun, mon, tue, wed, thu, fri, sat.',
  'policy.defaults.reminders.businessHours.from': 'Opening time, 24-hour clock ("09:00"); quote it in YAML.',
  'policy.defaults.reminders.businessHours.to': 'Closing time ("17:30"; "24:00" for midnight); later than from.',
  'policy.defaults.reminders.businessHours.timeZone': 'IANA time zone of those hours (Europe/Paris, UTC).',
  'policy.<action>.reminders':
    "This action's reminders: `none` switches them off; keys left out come from policy.defaults.reminders.",
  'policy.<action>.reminders.after': 'As policy.defaults.reminders.after, for this action.',
  'policy.<action>.reminders.escalateAfter': 'As policy.defaults.reminders.escalateAfter, for this action.',
  'policy.<action>.reminders.escalateTo': 'As policy.defaults.reminders.escalateTo, for this action.',
  'policy.<action>.reminders.escalateTo.users': 'As policy.defaults.reminders.escalateTo.users, for this action.',
  'policy.<action>.reminders.escalateTo.channel': 'As policy.defaults.reminders.escalateTo.channel, for this action.',
  'policy.<action>.reminders.businessHours': 'As policy.defaults.reminders.businessHours, for this action.',
  'policy.<action>.reminders.businessHours.days': 'As policy.defaults.reminders.businessHours.days, for this action.',
  'policy.<action>.reminders.businessHours.from': 'As policy.defaults.reminders.businessHours.from, for this action.',
  'policy.<action>.reminders.businessHours.to': 'As policy.defaults.reminders.businessHours.to, for this action.',
  'policy.<action>.reminders.businessHours.timeZone':
    'As policy.defaults.reminders.businessHours.timeZone, for this action.',
  'policy.<action>.rules[].rowsAbove': 'The rule applies to batches of more than this many rows (policy.batch).',
  profiles:
    'Onboarding profiles: profile name -> backend name -> the account a person of that kind gets there ' +
    '(`staff: { cloud: { groups: [staff], quota: 10GB } }`).',
  pacing:
    'Per backend name: how many calls the engine makes at once (concurrency) and how far apart they start ' +
    '(minIntervalMs). Unset: 2 at once for Nextcloud and the OIDC kinds, 1 for DSM.',
  'backends.<name>.kind': 'Which kind of server this is.',
  'backends.<name>.url': 'Base URL of the server, with its path prefix if any (https://cloud.example.com/nextcloud).',
  'backends.<name>.user': 'The admin account AccountDesk acts as.',
  'backends.<name>.secretEnv':
    "NAME of the environment variable holding that account's password (Nextcloud: an app password).",
  'backends.<name>.caFile': 'PEM file of a CA to trust, for a self-signed certificate.',
  'backends.<name>.insecureTls': 'Skip TLS certificate checks (logged as a warning at start-up; prefer caFile).',
  'backends.<name>.timeouts': 'Network timeouts.',
  'backends.<name>.timeouts.connectMs': 'Connect timeout in milliseconds (default 5000).',
  'backends.<name>.timeouts.headersMs': "Time to wait for the answer's headers, in milliseconds (default 15000).",
  'backends.<name>.timeouts.bodyMs': 'Time to wait between body chunks, in milliseconds (default 15000).',
  'backends.<name>.apiVersion': 'OCS endpoint: v2 (real HTTP statuses) or v1 (HTTP 200 with the outcome inside).',
  'backends.<name>.defaultGroups': 'Groups every new user joins besides those requested; they must exist.',
  'backends.<name>.editLimitWindowMs':
    "Nextcloud: the window of the server's limit on user edits (50 per 600000 ms); a batch row that meets the " +
    'limit waits this long. Change it only if the server was changed.',
  'backends.<name>.language': "Language of new users and their invitation mail (en, fr, de_DE); unset: the server's.",
  'backends.<name>.provider': 'OpenID Connect provider identifier, as in Nextcloud > Settings > OpenID Connect.',
  'backends.<name>.defaultQuota': "Quota of new users when the request names none (3GB, none); unset: the API's 3GB.",
  'backends.<name>.providerId': 'Numeric provider id in user_oidc (`occ user_oidc:provider` lists it).',
  'backends.<name>.providerIdentifier': "The provider's identifier in the OpenID Connect settings.",
  'backends.<name>.uidMode':
    'How user_oidc derives user ids; must match the provider settings: unique ("Use unique user id" on), ' +
    'providerBased, or raw.',
  'backends.<name>.volume': 'DSM volume whose user quotas AccountDesk reads and sets.',
  'backends.<name>.sessionName': 'AccountDesk\'s own DSM login session name (never "webui").',
  'backends.<name>.deviceName': 'Name DSM shows for the trusted 2FA device.',
  'backends.<name>.deviceIdEnv':
    'NAME of the environment variable holding the 2FA device id printed by `npm run synology:enroll`.',
  'backends.<name>.mailPassword':
    'true: DSM mails the first password to the new user (an email is required); false: shown once to the requester.',
  'backends.<name>.allowPlainHttp': 'Accept an http:// url (passwords cross the network in clear text).',
  'backends.<name>.groupJoin': 'DSM group joins are asynchronous: how they are polled.',
  'backends.<name>.groupJoin.maxPolls': 'Polls of the join status before giving up.',
  'backends.<name>.groupJoin.pollIntervalMs': 'Milliseconds between polls.',
};
