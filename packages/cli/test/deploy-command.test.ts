// `fleet deploy` through the real CLI (commander parsing included) against an
// in-process controller on loopback: what the controller is asked, what the
// user reads, exit codes, Ctrl-C, and a controller that restarts mid-deploy.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  Deployment,
  DeploymentState,
  type DeployRequest,
  FLEET_VERSION,
  FleetService,
  HostPhase,
  type FleetServer,
} from '@fleet/protocol';
import { addContext } from '../src/contexts/context-store';
import { missingScriptHint } from '../src/commands/deploy';
import type { CliIo } from '../src/context';
import { EXIT_OK } from '../src/exit-codes';
import { runCli } from '../src/main';
import { capture, type RunResult } from './helpers';

const ID = 'ab12cd34';

function deployment(state: DeploymentState, extra: Partial<Deployment> = {}): Deployment {
  const final = state === DeploymentState.DEPLOYMENT_STATE_SUCCEEDED;
  return Deployment.fromPartial({
    id: ID,
    app: 'api',
    version: 1,
    state,
    createdMs: 1_700_000_000_000,
    endedMs: final ? 1_700_000_010_000 : 0,
    hosts: [{ name: 'web1', phase: final ? HostPhase.HOST_PHASE_HEALTHY : HostPhase.HOST_PHASE_SWITCHING }],
    ...extra,
  });
}

interface FakeController {
  /** Where the CLI connects: a TCP proxy in front of the gRPC server. */
  port: number;
  calls: Array<{ method: string; request: unknown }>;
  /** How the next watch subscriptions are served, in order (each used once); the last one serves the rest. */
  watches: Array<(call: ServerWritableStream<{ id: string }, Deployment>) => void>;
  /** When set, hasArtifact answers only once it resolves. */
  holdHasArtifact?: Promise<void>;
  /** Drops every connection without a word, as a killed controller does (the CLI sees UNAVAILABLE). */
  kill(): void;
  /** Shuts the server down, as a stopping controller does (open calls are cancelled). */
  stop(): void;
  /** Listens again on the same port, as a restarted controller does. */
  restart(): Promise<void>;
  close(): void;
}

/** A TCP proxy whose connections can be cut, with the port kept for a restart. */
async function startProxy(target: () => number): Promise<{ port: number; cut(): void; listen(): Promise<void>; close(): void }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const proxy = {
    port: 0,
    cut: () => {
      server?.close();
      server = undefined;
      for (const s of sockets) s.destroy();
    },
    listen: async () => {
      if (server) return;
      server = net.createServer((client) => {
        const upstream = net.connect(target(), '127.0.0.1');
        for (const [a, b] of [[client, upstream], [upstream, client]]) {
          sockets.add(a);
          a.on('close', () => sockets.delete(a));
          a.on('error', () => b.destroy());
          a.pipe(b);
        }
      });
      await new Promise<void>((resolve) => server!.listen(proxy.port, '127.0.0.1', resolve));
      proxy.port = (server.address() as net.AddressInfo).port;
    },
    close: () => proxy.cut(),
  };
  await proxy.listen();
  return proxy;
}

async function startController(): Promise<FakeController> {
  const calls: FakeController['calls'] = [];
  let server: Server | undefined;
  let serverPort = 0;
  let serverUp = false;
  const proxy = await startProxy(() => serverPort);
  const fake: FakeController = {
    port: proxy.port,
    calls,
    watches: [(call) => call.end()],
    kill: () => proxy.cut(),
    stop: () => {
      serverUp = false;
      server?.forceShutdown();
    },
    restart: async () => {
      await listen();
      await proxy.listen();
    },
    close: () => {
      proxy.close();
      server?.forceShutdown();
    },
  };
  const unary = <Req, Res>(method: string, fn: (req: Req) => Res | Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
      calls.push({ method, request: call.request });
      void Promise.resolve(fn(call.request)).then((res) => cb(null, res));
    };
  const impl: Partial<FleetServer> = {
    ping: unary('ping', () => ({ pid: process.pid, version: FLEET_VERSION, home: '', startedMs: Date.now(), host: 'ctl', mode: 'controller', role: 'operator' })),
    hasArtifact: unary('hasArtifact', async () => {
      await fake.holdHasArtifact;
      return { present: false, maxBytes: 0 };
    }),
    uploadArtifact: (call, cb) => {
      calls.push({ method: 'uploadArtifact', request: undefined });
      call.on('data', () => undefined);
      call.on('end', () => cb(null, { present: true, maxBytes: 0 }));
    },
    deploy: unary('deploy', () => ({ deployment: deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING) })),
    watchDeployment: (call) => {
      calls.push({ method: 'watchDeployment', request: call.request });
      const serve = fake.watches.length > 1 ? fake.watches.shift()! : fake.watches[0];
      serve(call);
    },
  };
  const listen = async (): Promise<void> => {
    if (serverUp) return;
    serverUp = true;
    server = new Server();
    server.addService(FleetService, impl as UntypedServiceImplementation);
    serverPort = await new Promise<number>((resolve, reject) =>
      server!.bindAsync(`127.0.0.1:${serverPort}`, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  };
  await listen();
  return fake;
}

interface Running {
  result: Promise<RunResult>;
  /** Ctrl-C: runs the SIGINT handlers registered now. */
  interrupt(): void;
  handlers: Set<() => void>;
}

function runFleet(args: string[], env: NodeJS.ProcessEnv, cwd: string): Running {
  const stdout = capture();
  const stderr = capture();
  const handlers = new Set<() => void>();
  const io: CliIo = {
    stdout,
    stderr,
    env,
    cwd,
    onInterrupt: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    spawnDaemon: () => {
      throw new Error('tests never spawn a daemon');
    },
  };
  const result = runCli(args, io).then((code) => ({ code, stdout: stdout.text, stderr: stderr.text }));
  return { result, handlers, interrupt: () => [...handlers].forEach((h) => h()) };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('fleet deploy', () => {
  let ctl: FakeController;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let tmpRoot: string;
  const savedTmp = process.env.TMPDIR;

  before(async () => {
    // The CLI's temp folders land here, so the test can see them come and go.
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-deploy-cmd-'));
    process.env.TMPDIR = tmpRoot;
    ctl = await startController();
    home = path.join(tmpRoot, 'home');
    addContext(home, 'test', { controller: `127.0.0.1:${ctl.port}`, insecure: true }, tmpRoot);
    env = { FLEET_HOME: home, FLEET_CONTEXT: 'test' };
  });
  after(() => {
    ctl.close();
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  });
  afterEach(() => {
    ctl.calls.length = 0;
    ctl.watches = [(call) => call.end()];
    ctl.holdHasArtifact = undefined;
  });

  /** An app folder with server.js and an ecosystem file holding `app` (name api, script server.js). */
  function appDir(app: Record<string, unknown>, files: Record<string, string> = {}): string {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'app-'));
    fs.writeFileSync(path.join(dir, 'server.js'), 'require("http").createServer().listen(process.env.PORT)\n');
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    fs.writeFileSync(path.join(dir, 'ecosystem.config.js'), `module.exports = ${JSON.stringify({ apps: [{ name: 'api', script: 'server.js', ...app }] })};\n`);
    return dir;
  }
  const leftovers = (): string[] => fs.readdirSync(tmpRoot).filter((n) => n.startsWith('fleet-deploy-') && !n.startsWith('fleet-deploy-cmd-'));
  const lastDeploy = (): DeployRequest => ctl.calls.filter((c) => c.method === 'deploy').at(-1)?.request as DeployRequest;

  it("keeps the file's auto_rollback: false unless a flag is typed; typed flags go over the file", async () => {
    const fileSaysNo = appDir({ deploy: { auto_rollback: false, batch: 2 } });
    let r = await runFleet(['deploy', 'api', '--detach'], env, fileSaysNo).result;
    assert.equal(r.code, EXIT_OK, r.stderr);
    assert.match(r.stdout, new RegExp(`^deployment ${ID} of api v1 started on web1`));
    assert.equal(lastDeploy().strategy?.noAutoRollback, true, "commander's default (autoRollback true) does not beat the file");
    assert.equal(lastDeploy().strategy?.batchSize, 2);

    r = await runFleet(['deploy', 'api', '--detach', '--batch', '3'], env, fileSaysNo).result;
    assert.equal(r.code, EXIT_OK, r.stderr);
    assert.equal(lastDeploy().strategy?.batchSize, 3, 'a typed flag beats the file');
    assert.equal(lastDeploy().strategy?.noAutoRollback, true);

    const silent = appDir({});
    r = await runFleet(['deploy', 'api', '--detach'], env, silent).result;
    assert.equal(r.code, EXIT_OK, r.stderr);
    assert.equal(lastDeploy().strategy?.noAutoRollback, false, 'rollback on failure by default');
    r = await runFleet(['deploy', 'api', '--detach', '--no-auto-rollback'], env, silent).result;
    assert.equal(r.code, EXIT_OK, r.stderr);
    assert.equal(lastDeploy().strategy?.noAutoRollback, true);
  });

  it('warns that instances "max" and negative counts are counted on this machine', async () => {
    const cpus = os.availableParallelism();
    for (const instances of ['max', -1]) {
      const r = await runFleet(['deploy', 'api', '--detach'], env, appDir({ instances })).result;
      assert.equal(r.code, EXIT_OK, r.stderr);
      assert.match(r.stderr, new RegExp(`^warning: api: instances .* counted on this machine \\(${cpus} CPUs\\): every host runs ${Math.max(1, instances === 'max' ? cpus : cpus - 1)},`, 'm'));
    }
    const fixed = await runFleet(['deploy', 'api', '--detach'], env, appDir({ instances: 2 })).result;
    assert.equal(fixed.code, EXIT_OK, fixed.stderr);
    assert.doesNotMatch(fixed.stderr, /warning/);
  });

  it('names the ignore file that left the script out, without advising a .fleetignore that would ship .env', async () => {
    const dir = appDir({}, { '.gitignore': '.env\nserver.js\n', '.env': 'SECRET=1\n' });
    const r = await runFleet(['deploy', 'api'], env, dir).result;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error: the app's script server\.js is not in the artifact$/m);
    assert.match(r.stderr, /fix: \.gitignore leaves it out\. A \.fleetignore, when there is one, is used instead of \.gitignore/);
    assert.match(r.stderr, /copy the \.gitignore rules you still want \(such as \.env\) into a \.fleetignore, then add !server\.js/);
    assert.match(r.stderr, /--build/);
    assert.equal(ctl.calls.some((c) => c.method === 'hasArtifact'), false, 'nothing was uploaded');
    assert.deepEqual(leftovers(), []);

    assert.match(missingScriptHint('server.js', { exists: true, ignoreFile: '.fleetignore' }), /^\.fleetignore leaves it out: add !server\.js to it/);
    assert.match(missingScriptHint('dist/server.js', { exists: false, ignoreFile: '.gitignore' }), /^there is no dist\/server\.js in the app folder/);
    assert.match(missingScriptHint('node_modules/x/bin.js', { exists: true, ignoreFile: '.gitignore' }), /--include-node-modules/);
  });

  it('Ctrl-C while packing or uploading removes the temp folder and exits 130', async () => {
    let answer = (): void => undefined;
    ctl.holdHasArtifact = new Promise<void>((resolve) => (answer = resolve));
    const run = runFleet(['deploy', 'api'], env, appDir({}));
    await until('the artifact question', () => ctl.calls.some((c) => c.method === 'hasArtifact'));
    assert.equal(leftovers().length, 1, 'the packed artifact waits in a temp folder');
    assert.equal(run.handlers.size, 1, 'a SIGINT handler is registered meanwhile');
    run.interrupt();
    const r = await run.result;
    answer();
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted; nothing was deployed/);
    assert.deepEqual(leftovers(), [], 'the temp folder is gone');
    assert.equal(run.handlers.size, 0, 'and the handler with it');
    assert.equal(ctl.calls.some((c) => c.method === 'deploy'), false);
  });

  for (const how of ['killed', 'stopped'] as const) {
    it(`follows the deployment across a controller ${how} and restarted, saying so once`, async () => {
      ctl.watches = [
        (call) => {
          call.write(deployment(DeploymentState.DEPLOYMENT_STATE_RUNNING));
          // The controller goes away with the watch open, and comes back.
          setImmediate(() => {
            if (how === 'killed') ctl.kill();
            else ctl.stop();
            void ctl.restart();
          });
        },
        (call) => {
          call.write(deployment(DeploymentState.DEPLOYMENT_STATE_SUCCEEDED));
          call.end();
        },
      ];
      const run = runFleet(['deploy', 'api'], env, appDir({}));
      const r = await run.result;
      assert.equal(r.code, EXIT_OK, r.stderr);
      const notices = r.stderr.split('\n').filter((l) => l.startsWith('lost the controller'));
      assert.deepEqual(notices, [`lost the controller; reconnecting… (deployment ${ID} goes on there)`]);
      assert.match(r.stdout, /api v1 is live on 1 host/);
      assert.equal(ctl.calls.filter((c) => c.method === 'watchDeployment').length, 2, 'subscribed again');
      assert.equal(run.handlers.size, 0);
      assert.deepEqual(leftovers(), []);
    });
  }
});
