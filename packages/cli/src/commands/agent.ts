// fleet agent: the daemon in the foreground (systemd's ExecStart, or to watch
// it start), optionally linked to a fleet's controller. Loaded by path at run
// time so the CLI imports no agent code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { BadInputError, parseLabels } from '@fleet/protocol';
import type { CommandContext } from '../context';
import { daemonEntryPoint } from '../daemon-launcher';
import { parseCount } from '../flag-parsers';
import { addNatsOptions, type NatsCliFlags, natsFlags } from '../nats-flags';
import { UsageError } from '../usage-error';

interface DaemonModule {
  main(opts?: Record<string, unknown>): unknown;
}

export interface AgentFlags extends NatsCliFlags {
  controller?: string;
  name?: string;
  labels?: string;
  tokenFile?: string;
  tlsCa?: string;
  insecure?: boolean;
  serverName?: string;
  env?: string[];
  logBuffer?: number;
  metricsListen?: string;
  metricsTokenFile?: string;
}

function collectEnv(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** --env KEY=VAL (repeatable) → { KEY: 'VAL' }. */
export function parseHostEnv(items: string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(`--env "${item}" is not KEY=VALUE`, 'e.g. fleet agent --env ZONE=a --env PORT_BASE=3000');
    }
    env[key] = item.slice(eq + 1);
  }
  return env;
}

function readTokenFile(file: string, env: NodeJS.ProcessEnv): string {
  if (env.FLEET_TOKEN?.trim()) return env.FLEET_TOKEN.trim();
  let token: string;
  try {
    token = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new BadInputError(`cannot read the token file ${file}: ${(err as Error).message}`, {
      hint: 'create an agent token on the controller with `fleet token create --role agent --name <host>` and save it there',
    });
  }
  if (!token) throw new BadInputError(`the token file ${file} is empty`, { hint: 'write the agent token into it' });
  return token;
}

/** The secret scrapers of this agent's /metrics must send (no FLEET_TOKEN fallback: that one links the agent). */
function readMetricsToken(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new BadInputError(`cannot read the metrics token file ${file}: ${(err as Error).message}`, {
      hint: 'write a long random secret into it, e.g. `openssl rand -hex 32 > metrics.token` (chmod 600), and give scrapers the same',
    });
  }
}

/** Never resolves: the daemon's own handles keep the process alive, and it decides when to exit. */
export async function agent(ctx: CommandContext, flags: AgentFlags): Promise<never> {
  let labels: Record<string, string>;
  try {
    labels = parseLabels(flags.labels, '--labels');
  } catch (err) {
    throw new UsageError((err as Error).message, (err as BadInputError).hint);
  }
  const hostEnv = parseHostEnv(flags.env);
  let controller: Record<string, unknown> | undefined;
  if (flags.controller) {
    if (!/^[^\s:]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(flags.controller)) {
      throw new UsageError(`--controller "${flags.controller}" is not host:port`, 'e.g. --controller ctl.example:7070');
    }
    controller = {
      address: flags.controller,
      // Options, not a credentials object: the daemon's grpc-js is not the bundled CLI's.
      tls: {
        ca: flags.tlsCa && path.resolve(ctx.cwd, flags.tlsCa),
        insecure: flags.insecure,
        serverName: flags.serverName,
      },
      token: flags.tokenFile ? readTokenFile(path.resolve(ctx.cwd, flags.tokenFile), ctx.env) : ctx.env.FLEET_TOKEN?.trim() || undefined,
    };
  } else if (flags.tokenFile || flags.tlsCa || flags.insecure) {
    throw new UsageError('--token-file, --tls-ca and --insecure only apply with --controller', 'e.g. fleet agent --controller ctl.example:7070 --token-file agent.token');
  }
  const metricsToken = flags.metricsTokenFile ? readMetricsToken(path.resolve(ctx.cwd, flags.metricsTokenFile)) : undefined;
  if (metricsToken !== undefined && !flags.metricsListen) throw new UsageError('--metrics-token-file only applies with --metrics-listen', 'e.g. fleet agent --metrics-listen 0.0.0.0:9464 --metrics-token-file metrics.token');
  const nats = natsFlags(flags, ctx.cwd);
  if (nats && !controller) {
    throw new UsageError('--nats carries the logs of a host linked to a controller: it needs --controller', 'e.g. fleet agent --controller ctl.example:7070 --nats nats://nats.example:4222');
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const daemon = require(daemonEntryPoint()) as DaemonModule;
  // Foreground: the daemon logs to stderr (a terminal, or the journal under systemd).
  await daemon.main({
    foreground: true,
    name: flags.name,
    labels,
    hostEnv,
    controller,
    logBufferLines: flags.logBuffer,
    nats,
    metricsListen: flags.metricsListen,
    metricsToken,
  });
  return new Promise<never>(() => undefined);
}

export function registerAgent(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('agent')
    .description("run the daemon in the foreground; with --controller, link this host to a fleet's controller")
    .option('--controller <host:port>', "the controller to dial (the host needs no open port)")
    .option('--name <name>', 'this host\'s name in the fleet (default: the short hostname)')
    .option('--labels <k=v,...>', 'labels for --selector, e.g. role=web,zone=a')
    .option('--token-file <file>', 'file holding an agent token (fleet token create --role agent); or env FLEET_TOKEN')
    .option('--tls-ca <file>', "PEM CA bundle that signed the controller's certificate")
    .option('--server-name <name>', "the name on the controller's certificate, when it differs from the address")
    .option('--insecure', 'dial the controller without TLS')
    .option('--env <KEY=VAL>', 'set in every app on this host, over the app\'s own env (repeatable)', collectEnv)
    .option('--log-buffer <lines>', 'log lines kept while the controller (or NATS, with --nats) is unreachable (default 10000)', parseCount)
    .option('--metrics-listen <host:port>', "serve this host's GET /metrics, /healthz, /api/v1/{hosts,apps} there (off by default; loopback only unless --metrics-token-file)")
    .option('--metrics-token-file <file>', 'secret that requests to --metrics-listen must carry as Authorization: Bearer (required beyond loopback)');
  addNatsOptions(cmd, 'this host\'s logs, events and metrics (the controller link keeps the control)')
    .option('--json', 'accepted for uniformity; the daemon writes its own log')
    .action(async (flags: AgentFlags) => {
      ctx.exitCode = await agent(ctx, flags);
    });
}
