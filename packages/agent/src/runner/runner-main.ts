// Entry point of a runner: `node runner-main.js <spec.json>`. Started detached by
// the agent (its own session), it outlives the agent: apps keep running and
// restarting while no agent is there, and the next agent re-adopts it through
// its socket. It exits only on a `shutdown` request or SIGTERM (after stopping
// its instances).
import * as fs from 'node:fs';
import { type AppSpec, runnerSocketPath } from '@fleet/protocol/runner';
import { AppRunner } from './app-runner';
import { AppWatchers } from './app-watchers';
import { RunnerServer } from './runner-server';
import { reapOrphans, recordGroups } from './orphan-reaper';

interface RunnerBoot {
  /** A complete AppSpec (every field present), written by the agent. */
  spec: AppSpec;
  desired: 'online' | 'stopped';
  runDir: string;
  version: string;
}

async function main(): Promise<void> {
  const bootFile = process.argv[2];
  if (!bootFile) throw new Error('usage: runner-main <boot.json>');
  const boot = JSON.parse(fs.readFileSync(bootFile, 'utf8')) as RunnerBoot;
  const spec = boot.spec;
  const log = (msg: string): void => {
    process.stderr.write(`${new Date().toISOString()} [${spec.name}] ${msg}\n`);
  };
  let server: RunnerServer | undefined;
  let watchers: AppWatchers | undefined;
  let lastSpec = spec;
  const groupsFile = bootFile.replace(/\.boot\.json$/, '.pids.json');
  const orphans = reapOrphans(groupsFile, spec.name);
  if (orphans.length) log(`killed ${orphans.length} orphaned instance(s) of a previous runner: ${orphans.join(', ')}`);
  let lastPids = '';
  const runner = new AppRunner({
    spec,
    desired: boot.desired,
    version: boot.version,
    log,
    onChange: () => {
      server?.notify();
      const pids = runner.pids().map((p) => p.pid);
      if (pids.join() !== lastPids) {
        lastPids = pids.join();
        recordGroups(groupsFile, pids);
      }
      if (runner.spec !== lastSpec) {
        lastSpec = runner.spec;
        watchers?.arm();
      }
    },
  });
  watchers = new AppWatchers(runner, log);
  const exit = (): void => {
    watchers?.disarm();
    server?.close();
    fs.rmSync(bootFile, { force: true });
    fs.rmSync(groupsFile, { force: true });
    setImmediate(() => process.exit(0));
  };
  server = new RunnerServer(runner, {
    socketPath: runnerSocketPath(boot.runDir, spec.name),
    onShutdown: exit,
  });
  await server.listen();
  process.on('SIGTERM', () => void runner.shutdown().then(exit));
  process.on('SIGINT', () => {}); // a stray Ctrl-C in a terminal must not take the app down
  process.on('SIGHUP', () => runner.reopenLogs());
  watchers.arm();
  log(`runner ${process.pid} up`);
  if (boot.desired === 'online') await runner.start();
}

main().catch((err: Error) => {
  process.stderr.write(`runner failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
