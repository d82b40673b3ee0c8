// fleet deploy <app>: from the app folder, pack it, upload it once (by digest),
// and roll it out across the hosts, following the rollout until it ends.
// fleet deploy status|pause|resume|cancel|promote: the deployments themselves.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { type AppSpec, type ArtifactChunk, type ArtifactRef, BadInputError, type Deployment, deploymentStateWord, DeploymentState, HOST_LOGS_DIR, NotFoundError } from '@fleet/protocol';
import type { FleetApi } from '../client';
import { isConfigFile } from '../config-loader';
import type { CommandContext } from '../context';
import { type DeployFlags, deploySettings, givenOptions } from '../deploy/deploy-settings';
import { watchDeployment } from '../deploy/deploy-watch';
import { releaseScript, releaseSpec } from '../deploy/release-spec';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes';
import { parseCount } from '../flag-parsers';
import { formatBytes } from '../format/bytes';
import { renderDeployment, outcomeLine, renderHosts, renderStep } from '../format/deployment';
import { renderTable } from '../format/table';
import { formatDuration } from '../format/duration';
import { addHostOptions, type HostFlags, whereOf } from '../host-options';
import type { IgnoreFile } from '../release/pack-artifact';
import { UsageError } from '../usage-error';

interface DeployCommandFlags extends DeployFlags, HostFlags {
  config?: string;
  env?: string;
  detach?: boolean;
  json?: boolean;
}

const CONFIG_NAMES = ['ecosystem.config.js', 'ecosystem.config.cjs', 'ecosystem.config.mjs', 'ecosystem.config.json', 'ecosystem.json', 'ecosystem.config.yaml', 'ecosystem.config.yml', 'ecosystem.yaml', 'ecosystem.yml'];
const CHUNK_BYTES = 256 * 1024;

// Loaded on first use: the config compiler (yaml, json5), tar and ignore would
// otherwise cost every command — `fleet ls` too — their load time.
/* eslint-disable @typescript-eslint/no-require-imports */
const config = (): typeof import('@fleet/protocol/config') => require('@fleet/protocol/config') as typeof import('@fleet/protocol/config');
const packer = (): typeof import('../release/pack-artifact') => require('../release/pack-artifact') as typeof import('../release/pack-artifact');
const gitOf = (): typeof import('../release/git-info') => require('../release/git-info') as typeof import('../release/git-info');
/* eslint-enable @typescript-eslint/no-require-imports */
/** What a shell reports for a command ended by Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

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

/**
 * The file compiled as `fleet start` compiles it (read once), and whether the
 * app's instance count comes from this machine's CPUs ("max" or a negative
 * count): compiled here, such a count is the laptop's, and every host runs that
 * many whatever its own CPUs. Compiling again for another CPU count tells.
 */
async function compileApps(ctx: CommandContext, file: string, envName: string | undefined): Promise<{ specs: AppSpec[]; warnings: string[]; perCpu: (app: string) => boolean }> {
  const raw = await config().loadConfigFile(file);
  const opts = { cwd: path.dirname(file), source: file, logsDir: HOST_LOGS_DIR, envName, shellEnv: ctx.env };
  const cpus = os.availableParallelism();
  const here = config().compileConfig(raw, { ...opts, cpuCount: cpus });
  const elsewhere = config().compileConfig(raw, { ...opts, cpuCount: cpus + 1024 });
  const perCpu = (app: string): boolean => here.apps.find((s) => s.name === app)?.instances !== elsewhere.apps.find((s) => s.name === app)?.instances;
  return { specs: here.apps, warnings: here.warnings, perCpu };
}

/**
 * Why the entry script is not in the artifact, and a fix that does not start
 * shipping what was ignored: a .fleetignore replaces .gitignore, so one holding
 * only `!server.js` would let `.env` and the rest of what git skips go out.
 */
export function missingScriptHint(script: string, found: { exists: boolean; ignoreFile?: IgnoreFile }): string {
  const build = 'or build it on the hosts with --build (deploy.build in the config)';
  if (script.startsWith('node_modules/')) return 'node_modules is packed only with --include-node-modules; or install it on the hosts with --install';
  if (!found.exists) return `there is no ${script} in the app folder: build it before deploying, ${build}`;
  if (found.ignoreFile === '.fleetignore') return `.fleetignore leaves it out: add !${script} to it, ${build}`;
  if (found.ignoreFile === '.gitignore') {
    return (
      '.gitignore leaves it out. A .fleetignore, when there is one, is used instead of .gitignore (not on top of it): ' +
      `copy the .gitignore rules you still want (such as .env) into a .fleetignore, then add !${script} to it; ${build}`
    );
  }
  return `check the script's path in the ecosystem file, ${build}`;
}

/** Packs the app folder into `tmp` and uploads it unless the controller has it (by digest). */
async function uploadApp(ctx: CommandContext, api: FleetApi, app: string, appDir: string, spec: AppSpec, opts: { includeNodeModules: boolean; tmp: string; quiet: boolean }): Promise<ArtifactRef> {
  const packed = await packer().packArtifact(appDir, { includeNodeModules: opts.includeNodeModules, outFile: path.join(opts.tmp, `${app}.tar.gz`) });
  const { digest, sizeBytes } = packed;
  const script = releaseScript(spec);
  if (script && !packed.files.includes(script)) {
    const exists = fs.existsSync(path.join(appDir, script));
    throw new BadInputError(`the app's script ${script} is not in the artifact`, { hint: missingScriptHint(script, { exists, ignoreFile: packed.ignoreFile }) });
  }
  const presence = await api.hasArtifact({ digest, sizeBytes });
  if (presence.maxBytes > 0 && sizeBytes > presence.maxBytes) {
    throw new BadInputError(`the artifact is ${formatBytes(sizeBytes)}, over the controller's limit of ${formatBytes(presence.maxBytes)}`, {
      hint: 'leave build output, caches and test data out with a .fleetignore file, or raise the controller\'s --max-artifact-size',
    });
  }
  if (!presence.present) {
    if (!opts.quiet) ctx.err(`uploading ${app} (${formatBytes(sizeBytes)}, ${packed.files.length} files, sha256 ${digest.slice(0, 12)})\n`);
    await api.uploadArtifact(chunksOf(packed.file, { digest, sizeBytes }));
  } else if (!opts.quiet) {
    ctx.err(`artifact ${digest.slice(0, 12)} is already on the controller\n`);
  }
  return { digest, sizeBytes };
}

export async function deploy(ctx: CommandContext, app: string, flags: DeployCommandFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  const configFile = findConfig(ctx, flags.config);
  const appDir = path.dirname(configFile);
  const { specs, warnings, perCpu } = await compileApps(ctx, configFile, flags.env);
  for (const w of warnings) ctx.warn(w);
  const compiled = specs.find((s) => s.name === app);
  if (!compiled) {
    throw new NotFoundError(`${path.basename(configFile)} has no app named ${app}`, { hint: `its apps: ${specs.map((s) => s.name).join(', ') || 'none'}` });
  }
  if (perCpu(app)) {
    ctx.warn(
      `${app}: instances ("max" or a negative count) is counted on this machine (${os.availableParallelism()} CPUs): ` +
        `every host runs ${compiled.instances}, whatever its own CPUs; set instances to the number you want per host`,
    );
  }
  const spec = releaseSpec(compiled, appDir);
  const { strategy, includeNodeModules } = deploySettings(compiled.deployJson, flags.env, flags);
  const api = await ctx.connect();

  // Pack, then upload only what the controller does not have. Ctrl-C meanwhile
  // removes the temp folder and ends the command (130, as SIGINT did before).
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-deploy-'));
  const removeTmp = (): void => fs.rmSync(tmp, { recursive: true, force: true });
  let interrupt = (): void => undefined;
  const interrupted = new Promise<undefined>((resolve) => (interrupt = () => resolve(undefined)));
  const stopInterrupt = ctx.onInterrupt(() => {
    removeTmp();
    interrupt();
  });
  let artifact: ArtifactRef | undefined;
  try {
    // Left behind on Ctrl-C, the packing or upload ends with the process (or fails on the removed folder).
    artifact = await Promise.race([uploadApp(ctx, api, app, appDir, spec, { includeNodeModules, tmp, quiet: flags.json === true }), interrupted]);
  } finally {
    stopInterrupt();
    removeTmp();
  }
  if (!artifact) {
    ctx.err('\ninterrupted; nothing was deployed\n');
    return EXIT_INTERRUPTED;
  }

  const git = gitOf().gitInfo(appDir);
  const { deployment } = await api.deploy({ app, spec, artifact, strategy, gitCommit: git.commit, gitDirty: git.dirty, where });
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
    if (!live) ctx.out(`\n\n${renderHosts(end, ctx.colors)}\n`);
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
    .action(async (app: string, flags: DeployCommandFlags, command: Command) => {
      // Only what was typed may go over the file: commander's defaults (autoRollback true) must not.
      ctx.exitCode = await deploy(ctx, app, givenOptions(flags, (key) => command.getOptionValueSource(key)));
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
