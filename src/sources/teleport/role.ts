// the Teleport role and user the poller signs in as, with only the permissions our features use, and in comments
// the commands that give it an identity file. pure.
//
// permissions, from the Auth Service's authorization checks:
// - audit log export and search (GetEventExportChunks, ExportUnstructuredEvents, GetUnstructuredEvents): `event`
//   list, read. session recordings (StreamUnstructuredSessionEvents): `session` list, read. the same rules
//   teleport-event-handler's own role has.
// - UpsertLock checks the `lock` resource for both `create` and `update` (an upsert may do either), so locking
//   failed-login users needs both; nothing else about locks (no read, list or delete).

export const FORWARDER_USER = 'teleport-datadog-forwarder';
export const ROLE_FILE = 'teleport-datadog-forwarder-role.yaml';

export interface RoleRule {
  resources: string[];
  verbs: string[];
}

export function roleRules(lock: boolean): RoleRule[] {
  const rules: RoleRule[] = [{ resources: ['event', 'session'], verbs: ['list', 'read'] }];
  if (lock) rules.push({ resources: ['lock'], verbs: ['create', 'update'] });
  return rules;
}

export interface RoleYamlOptions {
  lock: boolean;
  /** where the identity file should go (shown in the commands) */
  identityPath: string;
  /** the teleport address given to configure, for the tbot example */
  teleportAddr?: string;
  name?: string;
}

const flow = (items: string[]) => `[${items.map((i) => `'${i}'`).join(', ')}]`;

export function roleYaml(o: RoleYamlOptions): string {
  const name = o.name ?? FORWARDER_USER;
  const proxy = o.teleportAddr && !/:3025$/.test(o.teleportAddr) ? o.teleportAddr : 'teleport.example.com:443';
  const rules = roleRules(o.lock)
    .map((r) => `      - resources: ${flow(r.resources)}\n        verbs: ${flow(r.verbs)}`)
    .join('\n');
  return `# the Teleport role and user teleport-datadog-forwarder's poller signs in as, written by
# \`teleport-datadog-forwarder configure\`: read the audit log and session recordings${o.lock ? ', and lock users\n# after repeated failed logins (lock create, update)' : ''}.
#
# 1. create them (as a Teleport admin):
#      tctl create -f ${ROLE_FILE}
#
# 2. get an identity file for the user, either
#    a) signed once, renewed by you before it expires (run tctl on an Auth Service host, or as a user whose role
#       may impersonate ${name}):
#      tctl auth sign --user=${name} --format=file --ttl=720h --out=${o.identityPath}
#    b) or kept fresh by Machine ID: a bot with this role, and tbot writing an identity output
#      tctl bots add ${name} --roles=${name}
#      # tbot.yaml:
#      #   version: v2
#      #   proxy_server: ${proxy}
#      #   onboarding: { join_method: token, token: <the token tctl bots add printed> }
#      #   storage: { type: directory, path: /var/lib/teleport/bot }
#      #   outputs:
#      #     - type: identity
#      #       destination: { type: directory, path: /var/lib/teleport-datadog-forwarder/tbot }
#      tbot start -c tbot.yaml
#    then set teleport.identity to .../tbot/identity and teleport.refresh.enabled = true in forwarder.toml.
#    (the bot's user is created by tctl bots add: the user below is only needed for a).
#
# 3. check it: teleport-datadog-forwarder check --config forwarder.toml
kind: role
version: v7
metadata:
  name: ${name}
spec:
  allow:
    rules:
${rules}
---
kind: user
version: v2
metadata:
  name: ${name}
spec:
  roles: ['${name}']
`;
}
