// A remote host, reached through its agent's Connect stream: each call is a
// Command with a fresh id, answered by the CommandResult carrying that id.
import { randomUUID } from 'node:crypto';
import {
  type CommandResult,
  type ControllerMessage,
  errorFromCode,
  HOST_CALLS,
  type HostMethod,
  type HostRequest,
  type HostResponse,
  isHostMethod,
  UnavailableError,
} from '@fleet/protocol';
import type { HostLink } from './host-link';

export interface Pending {
  method: HostMethod;
  request: Buffer;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Start and reload wait for apps to become ready; the CLI's own deadline is 10 minutes. */
export const COMMAND_TIMEOUT_MS = 9 * 60_000;

export class RemoteHostLink implements HostLink {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly send: (msg: ControllerMessage) => void,
    private readonly end: () => void,
    private readonly timeoutMs = COMMAND_TIMEOUT_MS,
  ) {}

  call<M extends HostMethod>(method: M, req: HostRequest<M>, opts: { timeoutMs?: number } = {}): Promise<HostResponse<M>> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    if (this.closed) return Promise.reject(this.gone('is not connected'));
    const id = randomUUID();
    // The table's codec types are per method; the generic M can't narrow them.
    const codec = HOST_CALLS[method] as unknown as { request: { encode(m: unknown): { finish(): Uint8Array } } };
    const request = Buffer.from(codec.request.encode(req).finish());
    return new Promise<HostResponse<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new UnavailableError(`${this.host} did not answer ${method} within ${Math.round(timeoutMs / 1000)} s`, { host: this.host }));
      }, timeoutMs);
      this.pending.set(id, { method, request, resolve: resolve as (v: unknown) => void, reject, timer });
      this.send({ command: { id, method, request } });
    });
  }

  /** Log batches up to seq are taken. */
  ack(seq: number): void {
    if (!this.closed && seq > 0) this.send({ logAck: { seq } });
  }

  onResult(result: CommandResult): void {
    const p = this.pending.get(result.id);
    if (!p) return; // timed out, or answered twice
    this.pending.delete(result.id);
    clearTimeout(p.timer);
    if (result.errorCode) {
      p.reject(errorFromCode(result.errorCode, result.errorMessage, { hint: result.errorHint || undefined, host: this.host }));
      return;
    }
    try {
      if (!isHostMethod(p.method)) throw new Error(`unknown method ${p.method}`);
      p.resolve(HOST_CALLS[p.method].response.decode(result.response));
    } catch (err) {
      p.reject(new UnavailableError(`${this.host} sent an unreadable answer to ${p.method}: ${(err as Error).message}`, { host: this.host }));
    }
  }

  /**
   * Commands still waiting for their answer, handed to the next link of the
   * same agent process: it sends them again with the same ids, and the agent
   * answers each once (running it only if it never started).
   */
  takePending(): Map<string, Pending> {
    const out = new Map(this.pending);
    this.pending.clear();
    return out;
  }

  adopt(pending: Map<string, Pending>): void {
    for (const [id, p] of pending) {
      this.pending.set(id, p);
      this.send({ command: { id, method: p.method, request: p.request } });
    }
  }

  /** No new calls; with keepPending, waiting commands stay for takePending(). */
  close(reason: string, keepPending = false): void {
    if (!this.closed) {
      this.closed = true;
      this.end();
    }
    if (keepPending) return;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(this.gone(`disconnected while running ${p.method} (${reason}); the command may or may not have run: check with \`fleet ls --hosts ${this.host}\``));
      this.pending.delete(id);
    }
  }


  private gone(what: string): Error {
    return new UnavailableError(`${this.host} ${what}`, { host: this.host });
  }
}
