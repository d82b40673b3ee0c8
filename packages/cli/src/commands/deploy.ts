// fleet deploy <app>: from the app folder, pack it, upload it once (by digest),
// and roll it out across the hosts, following the rollout until it ends.
// fleet deploy status|pause|resume|cancel|promote: the deployments themselves.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { type ArtifactChunk, BadInputError, type Deployment, deploymentStateWord, DeploymentState, HOST_LOGS_DIR, NotFoundError } from '@fleet/protocol';
import { isConfigFile, loadConfigFile } from '../config-loader';
import type { CommandContext } from '../context';
import { type DeployFlags, deploySettings } from '../deploy/deploy-settings';
import { watchDeployment } from '../deploy/deploy-watch';
import { releaseScript, releaseSpec } from '../deploy/release-spec';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes';
import { parseCount } from '../flag-parsers';
import { renderDeployment, outcomeLine, renderStep } from '../format/deployment';
import { renderTable } from '../format/table';
import { formatDuration } from '../format/duration';
import { addHostOptions, type HostFlags, whereOf } from '../host-options';
import { gitInfo } from '../release/git-info';
import { packArtifact } from '../release/pack-artifact';
import { UsageError } from '../usage-error';

interface DeployCommandFlags extends DeployFlags, HostFlags {
  config?: string;
  env?: string;
  detach?: boolean;
  json?: boolean;
}

const CONFIG_NAMES = ['ecosystem.config.js', 'ecosystem.config.cjs', 'ecosystem.config.mjs', 'ecosystem.config.json', 'ecosystem.json', 'ecosystem.config.yaml', 'ecosystem.config.yml', 'ecosystem.yaml', 'ecosystem.yml'];
const CHUNK_BYTES = 256 * 1024;

function findConfig(ctx: CommandContext, given: string | undefined): string {
  if (given) {
    const file = path.resolve(ctx.cwd, given);
    if (!fs.existsSync(file)) throw new UsageError(`--config ${given}: no such file`, 'give the path of the ecosystem file of the app');
    if (!isConfigFile(file)) throw new UsageError(`--config ${given} is not a config file`, 'use an ecosystem file: .js, .cjs, .mjs, .json or .yaml');
    return file;
  }
  const found = CONFIG_NAMES.map((n) => path.join(ctx.cwd, n)).find((f) => fs.existsSync(f));
  if (!found) {
    throw new UsageError(`no ecosystem file in ${ctx.cwd}`, 'run fleet deploy from the app folder (with its ecosystem.config.js), or pass --config <file>');
  }
  return found;
}

async function* chunksOf(file: string, ref: { digest: string; sizeBytes: number }): AsyncGenerator<ArtifactChunk> {
  yield { ref, data: Buffer.alloc(0) };
  for await (const data of fs.createReadStream(file, { highWaterMark: CHUNK_BYTES })) yield { ref: undefined, data: data as Buffer };
}

export async function deploy(ctx: CommandContext, app: string, flags: DeployCommandFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  const configFile = findConfig(ctx, flags.config);
  const appDir = path.dirname(configFile);
  const { specs, warnings } = await loadConfigFile(configFile, { logsDir: HOST_LOGS_DIR, envName: flags.env, shellEnv: ctx.env });
  for (const w of warnings) ctx.warn(w);
  const compiled = specs.find((s) => s.name === app);
  if (!compiled) {
    throw new NotFoundError(`${path.basename(configFile)} has no app named ${app}`, { hint: `its apps: ${specs.map((s) => s.name).join(', ') || 'none'}` });
  }
  const spec = releaseSpec(compiled, appDir);
  const { strategy, includeNodeModules } = deploySettings(compiled.deployJson, flags.env, flags);
  const api = await ctx.connect();

  // Pack, then upload only what the controller does not have.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-deploy-'));
  let digest: string;
  let sizeBytes: number;
  try {
    const packed = await packArtifact(appDir, { includeNodeModules, outFile: path.join(tmp, `${app}.tar.gz`) });
    digest = packed.digest;
    sizeBytes = packed.sizeBytes;
    const script = releaseScript(spec);
    if (script && !packed.files.includes(script)) {
      throw new BadInputError(`the app's script ${script} is not in the artifact`, {
        hint: 'is it ignored by .gitignore or .fleetignore? un-ignore it in .fleetignore (!path), or build it on the hosts with deploy.build',
      });
    }
    const presence = await api.hasArtifact({ digest, sizeBytes });
    if (presence.maxBytes > 0 && sizeBytes > presence.maxBytes) {
      throw new BadInputError(`the artifact is ${mb(sizeBytes)}, over the controller's limit of ${mb(presence.maxBytes)}`, {
        hint: 'leave build output, caches and test data out with a .fleetignore file, or raise the controller\'s --max-artifact-size',
      });
    }
    if (!presence.present) {
      if (!flags.json) ctx.err(`uploading ${app} (${mb(sizeBytes)}, ${packed.files.length} files, sha256 ${digest.slice(0, 12)})\n`);
      await api.uploadArtifact(chunksOf(packed.file, { digest, sizeBytes }));
    } else if (!flags.json) {
      ctx.err(`artifact ${digest.slice(0, 12)} is already on the controller\n`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const git = gitInfo(appDir);
  const { deployment } = await api.deploy({ app, spec, artifact: { digest, sizeBytes }, strategy, gitCommit: git.commit, gitDirty: git.dirty, where });
  const d = deployment!;
  if (flags.detach) {
    if (flags.json) ctx.json({ deployment: d });
    else ctx.out(`deployment ${d.id} of ${app} v${d.version} started on ${d.hosts.map((h) => h.name).join(', ')}; follow it with \`fleet deploy status ${d.id}\`\n`);
    return EXIT_OK;
  }
  return follow(ctx, d, flags.json === true);
}

async function follow(ctx: CommandContext, first: Deployment, json: boolean): Promise<number> {
  const api = await ctx.connect();
  const live = ctx.stdout.isTTY === true && !json;
  if (!json && !live) ctx.out(`deployment ${first.id}: ${first.rollback ? 'rollback of ' : ''}${first.app} v${first.version} to ${first.hosts.map((h) => h.name).join(', ')}\n`);
  const end = await watchDeployment(ctx, api, first, { live, quiet: json });
  if (json) {
    ctx.json({ deployment: end });
  } else {
    if (!live) ctx.out(`\n${renderDeployment(end, ctx.colors, { steps: 0 }).split('\n').slice(1).join('\n')}`);
    ctx.out(outcomeLine(end, ctx.colors));
  }
  return end.state === DeploymentState.DEPLOYMENT_STATE_SUCCEEDED ? EXIT_OK : EXIT_FAILED;
}

async function status(ctx: CommandContext, target: string | undefined, flags: { json?: boolean; all?: boolean; context?: string }): Promise<number> {
  if (flags.context) ctx.contextName = flags.context;
  const api = await ctx.connect();
  // An id (hex) or an app name.
  const byId = target !== undefined && /^[0-9a-f]{4,8}$/.test(target);
  let res;
  try {
    res = await api.deployments({ app: byId ? '' : (target ?? ''), id: byId ? target! : '', all: flags.all === true });
  } catch (err) {
    if (!byId || !(err instanceof Error) || !/no deployment/.test(err.message)) throw err;
    res = await api.deployments({ app: target!, id: '', all: flags.all === true });
  }
  const list = res.deployments;
  if (flags.json) {
    ctx.json({ deployments: list });
    return EXIT_OK;
  }
  if (list.length === 0) {
    ctx.out('no deployments yet; start one with `fleet deploy <app> --hosts …`\n');
    return EXIT_OK;
  }
  if (list.length === 1 && target !== undefined) {
    const d = list[0];
    ctx.out(renderDeployment(d, ctx.colors, { steps: 1000 }));
    return EXIT_OK;
  }
  const rows = list.map((d) => [
    d.id,
    d.app,
    `v${d.version}${d.rollback ? ' (rollback)' : ''}`,
    deploymentStateWord(d.state) + (d.awaitingPromotion ? ' (awaiting promote)' : ''),
    d.hosts.map((h) => h.name).join(','),
    new Date(d.createdMs).toISOString().replace('T', ' ').slice(0, 19),
    formatDuration((d.endedMs || Date.now()) - d.createdMs),
    d.reason,
  ]);
  ctx.out(renderTable([{ header: 'ID' }, { header: 'APP' }, { header: 'RELEASE' }, { header: 'STATE' }, { header: 'HOSTS' }, { header: 'CREATED' }, { header: 'TOOK' }, { header: 'REASON' }], rows));
  return EXIT_OK;
}

async function control(ctx: CommandContext, action: 'pause' | 'resume' | 'cancel' | 'promote', id: string, flags: { json?: boolean; context?: string }): Promise<number> {
  if (flags.context) ctx.contextName = flags.context;
  const api = await ctx.connect();
  const { deployment } = await api.controlDeployment({ id, action });
  const d = deployment!;
  if (flags.json) ctx.json({ deployment: d });
  else {
    const last = d.steps.at(-1);
    ctx.out(last ? renderStep(last, ctx.colors) : `deployment ${d.id}: ${deploymentStateWord(d.state)}\n`);
  }
  return EXIT_OK;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function registerDeploy(program: Command, ctx: CommandContext): void {
  const cmd = addHostOptions(program.command('deploy'))
    .description('release an app from its folder to hosts: rolling, health-gated, rolled back on failure')
    .argument('<app>', 'the app, as named in the ecosystem file of this folder')
    .option('--config <file>', 'the ecosystem file (default: ecosystem.config.js or similar in this folder)')
    .option('--env <name>', 'use env_<name> of the config (and deploy.<name>)')
    .option('--batch <n>', 'hosts switched at a time (default 1)', parseCount)
    .option('--canary <n>', 'hosts switched first, then wait for `fleet deploy promote` (default 0)', parseCount)
    .option('--auto-promote', 'promote the canaries by itself once healthy')
    .option('--health-url <url>', 'checked on each host once its instances are ready; ${VAR} from the app env, e.g. http://127.0.0.1:${PORT}/health')
    .option('--min-healthy-time <ms>', 'a host must stay healthy this long (default 10s)')
    .option('--healthy-deadline <ms>', 'a host must be healthy within this after its switch (default 5m)')
    .option('--progress-deadline <ms>', 'the whole deployment must end within this (default 30m)')
    .option('--no-auto-rollback', 'on failure, leave switched hosts on the new release')
    .option('--keep-releases <n>', 'releases kept on each host (default 5)', parseCount)
    .option('--install <command>', 'run in the release folder on each host before the switch, e.g. "npm ci --omit=dev"')
    .option('--build <command>', 'run after install, before the switch')
    .option('--release-command <command>', 'run once, on one host, before any switch (migrations)')
    .option('--command-timeout <ms>', 'limit for install, build and release commands (default 10m)')
    .option('--include-node-modules', 'ship node_modules in the artifact (built once, here)')
    .option('--detach', 'start the deployment and return; follow with `fleet deploy status`')
    .option('--json', 'machine output: the deployment as it ended')
    .action(async (app: string, flags: DeployCommandFlags) => {
      ctx.exitCode = await deploy(ctx, app, flags);
    })
    // `fleet deploy status --json`: the subcommand's options are its own, not the parent's (with the program's).
    .enablePositionalOptions();
  cmd
    .command('status')
    .description('deployments: the latest per app, or one in full')
    .argument('[app|id]', 'an app name or a deployment id')
    .option('--all', 'ended deployments too')
    .option('--context <name>', 'the controller to talk to')
    .option('--json', 'machine output')
    .action(async (target: string | undefined, flags: { json?: boolean; all?: boolean; context?: string }) => {
      ctx.exitCode = await status(ctx, target, flags);
    });
  for (const [action, what] of [
    ['pause', 'switch no more hosts until resumed (health is still watched)'],
    ['resume', 'go on with a paused deployment'],
    ['cancel', 'stop the deployment and roll switched hosts back'],
    ['promote', 'go on past the canaries'],
  ] as const) {
    cmd
      .command(action)
      .description(what)
      .argument('<id>', 'the deployment id (see `fleet deploy status`)')
      .option('--context <name>', 'the controller to talk to')
      .option('--json', 'machine output')
      .action(async (id: string, flags: { json?: boolean; context?: string }) => {
        ctx.exitCode = await control(ctx, action, id, flags);
      });
  }
}

export { follow as followDeployment };
