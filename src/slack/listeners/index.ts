import type { App } from '@slack/bolt';
import { registerBatch } from './batch.js';
import { registerCommand } from './command.js';
import { registerDecisionButtons } from './decide-buttons.js';
import { registerHome } from './home.js';
import { registerModals } from './modals.js';
import { registerScheduleButtons } from './schedule-buttons.js';
import type { ListenerDeps } from './shared.js';

export type { ListenerDeps } from './shared.js';

export function registerListeners(app: App, deps: ListenerDeps): void {
  registerCommand(app, deps);
  registerDecisionButtons(app, deps);
  registerModals(app, deps);
  registerHome(app, deps);
  registerScheduleButtons(app, deps);
  registerBatch(app, deps);
}
