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
  // Pages read from the indexes, never every request (docs/architecture.md#index-pages); the counts come from
  // the indexes too, so the Home can say how many it does not show.
  const own = await desk.queries.requesterPage(user, 15);
  const pending = (await desk.plans.policy.isApprover(user)) ? await desk.queries.pendingPage(100) : undefined;
  const waiting = pending?.requests
    .filter((r) => r.requester !== user && !r.approvals.some((v) => v.by === user))
    .slice(0, 20);
  await deps.surface.publishHome(
    user,
    homeView({
      own: own.requests,
      ownTotal: own.total,
      waiting,
      ...(pending ? { pendingTotal: pending.total } : {}),
      scheduled: await desk.schedules.upcoming(user),
      command: deps.command,
    }),
  );
}
