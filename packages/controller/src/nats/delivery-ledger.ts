// Which messages of each agent process were taken already: NATS delivers
// logs and events at least once (an agent sends an unacknowledged message
// again), and this turns that into once. Each message also says the agent's
// floor — every number below it is acknowledged and will never come again —
// so a ledger keeps only the numbers above the floor: about what the agent
// has in flight. Agents are kept by recent use (`agents` of them). Pure.
import { LRUCache } from 'lru-cache';

class Seen {
  floor = 0;
  readonly above = new Set<number>();

  raise(floor: number): void {
    if (floor <= this.floor) return;
    this.floor = floor;
    // Pruned now and then, not per message.
    if (this.above.size > 256) for (const s of this.above) if (s < floor) this.above.delete(s);
  }
}

export class DeliveryLedger {
  private readonly agents: LRUCache<string, Seen>;

  constructor(agents = 10_000) {
    this.agents = new LRUCache({ max: agents });
  }

  /** Taken already, here or (below the agent's floor) by some controller. */
  has(agent: string, seq: number): boolean {
    const seen = this.agents.get(agent);
    return !!seen && (seq < seen.floor || seen.above.has(seq));
  }

  /** Records a message and the floor it carried; false when it was taken already. */
  add(agent: string, seq: number, floor = 0): boolean {
    let seen = this.agents.get(agent);
    if (!seen) {
      seen = new Seen();
      this.agents.set(agent, seen);
    }
    seen.raise(floor);
    if (seq < seen.floor || seen.above.has(seq)) return false;
    seen.above.add(seq);
    return true;
  }

  /** A floor heard without a message to take (the agent's floor moves on every send). */
  raise(agent: string, floor: number): void {
    this.agents.get(agent)?.raise(floor);
  }
}
