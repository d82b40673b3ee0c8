// fleet controller: the fleet's controller in the foreground (systemd's
// ExecStart). Loaded by path at run time, like the agent, so everyday commands
// load none of it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { resolveHome, UnavailableError } from '@fleet/protocol';
import type * as Config from '@fleet/protocol/config';
import type { CommandContext } from '../context';
import { collectList, parseMs } from '../flag-parsers';
import { addNatsOptions, type NatsCliFlags, natsFlags } from '../nats-flags';
import { UsageError } from '../usage-error';

interface ControllerModule {
  main(opts: Record<string, unknown>): Promise<void>;
}

export interface ControllerFlags extends NatsCliFlags {
  listen: string;
  data?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  insecure?: boolean;
  heartbeat?: number | string;
  downAfter?: number | string;
  seedToken?: string[];
  maxArtifactSize?: string;
  natsLogsRetention?: number | string;
  metricsListen?: string;
}

function controllerModule(): ControllerModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(require.resolve('@fleet/controller/main')) as ControllerModule;
  } catch (err) {
    throw new UnavailableError('cannot load the fleet controller (@fleet/controller)', { hint: 'build the workspace: npm run build', cause: err });
  }
}

/** --seed-token operator:/path/file (scripted setups: the demo, tests, config management). */
export function parseSeedToken(spec: string, cwd: string): { role: string; file: string } {
  const m = /^(agent|operator|viewer):(.+)$/.exec(spec);
  if (!m) throw new UsageError(`--seed-token "${spec}" is not role:file`, 'e.g. --seed-token agent:/etc/fleet/agent.token');
  return { role: m[1], file: path.resolve(cwd, m[2]) };
}

export function registerController(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('controller')
    .description("run the fleet's controller in the foreground")
    .option('--listen <host:port>', 'address to serve agents and CLIs on', '127.0.0.1:7070')
    .option('--data <dir>', 'where hosts, state and tokens are kept (default: FLEET_HOME/controller)')
    .option('--tls-cert <file>', 'PEM certificate to serve TLS with')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA bundle')
    .option('--insecure', 'serve plaintext beyond loopback (tokens cross the network in clear)')
    .option('--heartbeat <ms>', 'heartbeat interval agents are told to keep (default 5s)', parseMs)
    .option('--down-after <ms>', 'a host disconnected this long is down (default 5m)', parseMs)
    .option('--max-artifact-size <size>', 'largest release artifact taken (default 512M)')
    .option('--seed-token <role:file>', 'accept the token in this file with this role (repeatable)', collectList)
    .option('--metrics-listen <host:port>', 'serve GET /metrics, /healthz, /api/v1/{hosts,apps} there (off by default; beyond loopback a viewer token is required, over TLS or with --insecure)');
  addNatsOptions(cmd, 'the data plane: logs, events and metrics of agents started with --nats')
    .option('--nats-logs-retention <duration>', 'keep fleet.<cluster>.logs.> in a JetStream stream this long, e.g. 24h (the server runs with -js)', parseMs)
    .action(async (flags: ControllerFlags) => {
      // The config module (yaml, json5) is loaded only by the commands that use it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { parseDuration, parseSize } = require('@fleet/protocol/config') as typeof Config;
      const seeds = (flags.seedToken ?? []).map((s) => {
        const { role, file } = parseSeedToken(s, ctx.cwd);
        return { role, name: `seed:${path.basename(file)}`, token: fs.readFileSync(file, 'utf8').trim() };
      });
      await controllerModule().main({
        listen: flags.listen,
        dataDir: path.resolve(ctx.cwd, flags.data ?? path.join(resolveHome(ctx.env), 'controller')),
        tlsCert: flags.tlsCert && path.resolve(ctx.cwd, flags.tlsCert),
        tlsKey: flags.tlsKey && path.resolve(ctx.cwd, flags.tlsKey),
        tlsCa: flags.tlsCa && path.resolve(ctx.cwd, flags.tlsCa),
        insecure: flags.insecure,
        heartbeatMs: flags.heartbeat === undefined ? undefined : parseDuration(flags.heartbeat, '--heartbeat'),
        downAfterMs: flags.downAfter === undefined ? undefined : parseDuration(flags.downAfter, '--down-after'),
        seedTokens: seeds,
        nats: natsFlags(flags, ctx.cwd),
        natsLogsRetentionMs: flags.natsLogsRetention === undefined ? undefined : parseDuration(flags.natsLogsRetention, '--nats-logs-retention'),
        maxArtifactBytes: flags.maxArtifactSize === undefined ? undefined : parseSize(flags.maxArtifactSize, '--max-artifact-size'),
        metricsListen: flags.metricsListen,
      });
      // Runs until a signal; the server's handles keep the process alive.
      await new Promise<never>(() => undefined);
    });
}
