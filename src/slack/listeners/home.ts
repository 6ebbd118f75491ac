/** App Home: published when someone opens it (event app_home_opened). */
import type { App } from '@slack/bolt';
import { homeView } from '../blocks/home.js';
import type { ListenerDeps } from './shared.js';

export function registerHome(app: App, deps: ListenerDeps): void {
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    await publishHome(deps, event.user);
  });
}

export async function publishHome(deps: ListenerDeps, user: string): Promise<void> {
  const { desk } = deps;
  const own = await desk.queries.listForRequester(user, 15);
  const waiting = (await desk.plans.policy.isApprover(user))
    ? (await desk.queries.listPending(100))
        .filter((r) => r.requester !== user && !r.approvals.some((v) => v.by === user))
        .slice(0, 20)
    : undefined;
  await deps.surface.publishHome(user, homeView({ own, waiting, command: deps.command }));
}
