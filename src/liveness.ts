/**
 * Which AccountDesk processes are alive, and leases that outlive nobody.
 *
 * Every process holds a lease named after itself, renewed at a third of its TTL. A request left `applying` by a
 * process whose lease lapsed was interrupted (crash, SIGKILL, lost machine), and the next sweep reconciles it.
 * Work leases (the Slack publisher, the sweeper) are held under the same process id, so a successor takes over
 * the moment the holder is known dead instead of waiting for the lease to run out.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from './log.js';
import type { Coordination } from './store/types.js';

const INSTANCE_PREFIX = 'instance-';

export class Liveness {
  readonly id = `${INSTANCE_PREFIX}${randomUUID()}`;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly coordination: Coordination,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  static async start(coordination: Coordination, ttlMs: number, logger: Logger): Promise<Liveness> {
    const liveness = new Liveness(coordination, ttlMs, logger);
    await liveness.beat();
    liveness.timer = setInterval(() => void liveness.beat(), Math.max(100, Math.floor(ttlMs / 3)));
    liveness.timer.unref();
    return liveness;
  }

  async isAlive(instance: string): Promise<boolean> {
    return (await this.coordination.leaseHolder(selfLease(instance))) === instance;
  }

  /** Takes the work lease `name` for this process: when free, expired, already ours, or held by a dead process. */
  async acquire(name: string, ttlMs: number): Promise<boolean> {
    if (await this.coordination.acquireLease(name, this.id, ttlMs)) return true;
    const holder = await this.coordination.leaseHolder(name);
    // Only a holder that runs a heartbeat can be known dead; any other (an older version's random owner) keeps
    // its lease until it runs out.
    if (
      holder === undefined ||
      holder === this.id ||
      !holder.startsWith(INSTANCE_PREFIX) ||
      (await this.isAlive(holder))
    )
      return false;
    // Its process is gone and will never renew or release it. Two successors may both get here; the release is
    // idempotent and only one of them wins the acquire.
    await this.coordination.releaseLease(name, holder);
    return this.coordination.acquireLease(name, this.id, ttlMs);
  }

  async release(name: string): Promise<void> {
    await this.coordination
      .releaseLease(name, this.id)
      .catch((err) => this.logger.warn({ err, lease: name }, 'could not release a lease'));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.release(selfLease(this.id));
  }

  private async beat(): Promise<void> {
    await this.coordination.acquireLease(selfLease(this.id), this.id, this.ttlMs).catch((err) => {
      this.logger.warn({ err }, "could not renew this process's liveness in the store");
    });
  }
}

function selfLease(instance: string): string {
  return `instance:${instance}`;
}
