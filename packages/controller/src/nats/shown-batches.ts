// Which agent messages one follower has shown: a message reaches it twice
// when the agent sent it again, or when a gap is filled from the windows
// (NATS was away: its subscriptions missed what the queue group took
// meanwhile). Bounded: per agent the newest `keep` numbers; older ones count
// as shown (no window reaches back that far). Pure.

class AgentShown {
  /** Numbers below count as shown. */
  from = 0;
  readonly seqs = new Set<number>();
}

export class ShownBatches {
  private readonly agents = new Map<string, AgentShown>();

  constructor(private readonly keep = 20_000) {}

  has(agent: string, seq: number): boolean {
    const a = this.agents.get(agent);
    return !!a && (seq < a.from || a.seqs.has(seq));
  }

  mark(agent: string, seq: number): void {
    let a = this.agents.get(agent);
    if (!a) {
      a = new AgentShown();
      this.agents.set(agent, a);
    }
    if (seq < a.from) return;
    a.seqs.add(seq);
    if (a.seqs.size > this.keep) {
      // The older half counts as shown from now on.
      const sorted = [...a.seqs].sort((x, y) => x - y);
      a.from = sorted[Math.floor(sorted.length / 2)];
      for (const s of sorted) if (s < a.from) a.seqs.delete(s);
    }
  }
}
