import { formatBytes, parseQuota } from '../sizes.js';
import type { ActionKind } from './kind.js';

export const quotaAction: ActionKind = {
  name: 'quota',
  done: 'quota set',
  destructive: false,
  enabledByDefault: true,
  usage: 'quota <backend> <username> <size|unlimited> [reason]',
  checkParams(draft) {
    if (draft.quota === undefined || draft.quota.trim() === '') {
      return { ok: false, field: 'quota', message: 'Say the new quota, e.g. 50GB or unlimited.' };
    }
    const quota = parseQuota(draft.quota);
    return quota.ok
      ? { ok: true, params: { quotaBytes: quota.bytes } }
      : { ok: false, field: 'quota', message: quota.message };
  },
  describe: ({ username, params }) => `set the quota of ${username} to ${formatBytes(params.quotaBytes)}`,
  assess({ params }, current) {
    const before = current.quota ? formatBytes(current.quota.limitBytes) : 'unknown';
    const change = `quota ${before} → ${formatBytes(params.quotaBytes)}`;
    if (!current.exists) return { change, blocker: 'user does not exist' };
    if (current.quota && current.quota.limitBytes === params.quotaBytes)
      return { change, noOp: 'the quota is already that' };
    const used = current.quota?.usedBytes;
    if (params.quotaBytes != null && used !== undefined && used > params.quotaBytes) {
      return { change, warning: `the user already stores ${formatBytes(used)}, more than the new quota` };
    }
    return { change };
  },
  apply: (backend, request) => backend.setQuota(request.username, request.params.quotaBytes ?? null),
  isDone: ({ params }, current) => current.exists && current.quota?.limitBytes === params.quotaBytes,
};
