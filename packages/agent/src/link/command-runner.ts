// Runs the controller's commands on this host. Ids make them idempotent: a
// command seen again (the controller re-sent it after a reconnect) is answered
// from the record, or joins the run still under way, and never runs twice.
import {
  type Command,
  type CommandResult,
  FleetError,
  HOST_CALLS,
  type HostCalls,
  isHostMethod,
} from '@fleet/protocol';
import { LRUCache } from 'lru-cache';

const READS = new Set(['list', 'describe', 'logs']);

export class CommandRunner {
  private readonly seen = new LRUCache<string, Promise<CommandResult>>({ max: 1000 });

  constructor(private readonly host: HostCalls) {}

  run(cmd: Command): Promise<CommandResult> {
    // Reads change nothing: run again rather than keep their (possibly large) answers.
    if (READS.has(cmd.method)) return this.execute(cmd);
    let result = this.seen.get(cmd.id);
    if (!result) {
      result = this.execute(cmd);
      this.seen.set(cmd.id, result);
    }
    return result;
  }

  private async execute(cmd: Command): Promise<CommandResult> {
    const base = { id: cmd.id, response: Buffer.alloc(0), errorCode: '', errorMessage: '', errorHint: '' };
    if (!isHostMethod(cmd.method)) {
      return {
        ...base,
        errorCode: 'BAD_INPUT',
        errorMessage: `this agent does not know the command "${cmd.method}"`,
        errorHint: 'the controller is newer than this agent: upgrade fleet on the host',
      };
    }
    // One table gives the codecs and the handler; the method ties them together at run time.
    const codec = HOST_CALLS[cmd.method] as unknown as {
      request: { decode(b: Uint8Array): unknown };
      response: { encode(m: unknown): { finish(): Uint8Array } };
    };
    const handler = (this.host[cmd.method] as (req: unknown) => Promise<unknown>).bind(this.host);
    try {
      const res = await handler(codec.request.decode(cmd.request));
      return { ...base, response: Buffer.from(codec.response.encode(res).finish()) };
    } catch (err) {
      return {
        ...base,
        errorCode: err instanceof FleetError ? err.code : 'FAILED',
        errorMessage: err instanceof Error ? err.message : String(err),
        errorHint: err instanceof FleetError ? (err.hint ?? '') : '',
      };
    }
  }
}
