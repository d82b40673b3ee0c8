// An in-process Fleet service on a unix socket in a temp FLEET_HOME: enough to
// drive the CLI's output and exit codes. The real daemon has its own tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  ExecMode,
  FLEET_VERSION,
  FleetService,
  InstanceStatus,
  LogStream,
  NotFoundError,
  fleetPaths,
  toServiceError,
  type ActionResponse,
  type AppInfo,
  type AppResult,
  type AppSpec,
  type FleetServer,
  type LogLine,
} from '@fleet/protocol';

export interface FakeDaemon {
  home: string;
  env: NodeJS.ProcessEnv;
  /** Every request received, by method. */
  calls: Array<{ method: string; request: unknown }>;
  close(): Promise<void>;
}

export const SECRET = 'postgres://admin:hunter2@db/prod';

export function spec(name: string, extra: Partial<AppSpec> = {}): AppSpec {
  return {
    name,
    script: `/srv/${name}/server.js`,
    args: ['--port', '3000'],
    cwd: `/srv/${name}`,
    release: 0,
    interpreter: 'node',
    interpreterArgs: [],
    execMode: ExecMode.EXEC_MODE_CLUSTER,
    instances: 2,
    env: { DATABASE_URL: SECRET, NODE_ENV: 'production' },
    instanceVar: 'NODE_APP_INSTANCE',
    incrementVar: '',
    waitReady: true,
    listenTimeoutMs: 3000,
    killTimeoutMs: 1600,
    killSignal: 'SIGINT',
    restart: {
      autorestart: true,
      maxRestarts: 16,
      minUptimeMs: 1000,
      restartDelayMs: 0,
      expBackoffRestartDelayMs: 0,
      stopExitCodes: [],
      stableAfterMs: 30000,
      maxMemoryBytes: 200 * 1024 * 1024,
      memoryCheckIntervalMs: 3000,
      cronRestart: '',
    },
    log: {
      outFile: `/home/.fleet/logs/${name}-out.log`,
      errorFile: `/home/.fleet/logs/${name}-error.log`,
      dateFormat: '',
      merge: false,
      json: false,
      maxSizeBytes: 0,
      retain: 0,
      compress: false,
      disabled: false,
    },
    watch: { enabled: false, paths: [], ignore: [], debounceMs: 1000 },
    source: '',
    deployJson: '',
    ...extra,
  };
}

export const APPS: AppInfo[] = [
  {
    appId: 0,
    spec: spec('api'),
    desired: 'online',
    runnerPid: 4000,
    runnerVersion: FLEET_VERSION,
    reloading: false,
    host: 'test-host',
    hostEnv: {},
    metrics: [],
    instances: [0, 1].map((i) => ({
      app: 'api',
      appId: 0,
      instance: i,
      pid: 4001 + i,
      status: InstanceStatus.INSTANCE_STATUS_ONLINE,
      cpuPercent: 0.5,
      memoryBytes: 40 * 1024 * 1024,
      restarts: i,
      unstableRestarts: 0,
      uptimeMs: 120_000,
      execMode: ExecMode.EXEC_MODE_CLUSTER,
      createdMs: 1_700_000_000_000,
      startedMs: 1_700_000_100_000,
      lastExitCode: i ? 1 : 0,
      lastExitSignal: '',
      host: '',
      release: 0,
      eventLoopLagMs: 3.5,
      heapUsedBytes: 20 * 1024 * 1024,
      heapTotalBytes: 32 * 1024 * 1024,
      metrics: [],
      events: [
        {
          timeMs: 1_700_000_100_000,
          from: InstanceStatus.INSTANCE_STATUS_LAUNCHING,
          to: InstanceStatus.INSTANCE_STATUS_ONLINE,
          reason: 'ready',
        },
      ],
    })),
  },
  {
    appId: 1,
    spec: spec('worker', { execMode: ExecMode.EXEC_MODE_FORK, instances: 0 }),
    desired: 'stopped',
    runnerPid: 0,
    runnerVersion: '',
    reloading: false,
    host: 'test-host',
    hostEnv: {},
    instances: [],
    metrics: [],
  },
];

const LINES: LogLine[] = [
  { app: 'api', instance: 0, stream: LogStream.LOG_STREAM_OUT, line: 'listening on 3000', timeMs: 1, host: '', dropped: 0 },
  { app: 'api', instance: 1, stream: LogStream.LOG_STREAM_ERR, line: 'warning: slow', timeMs: 2, host: '', dropped: 0 },
];

function result(app: string, ok = true, error = ''): AppResult {
  return { app, appId: app === 'api' ? 0 : 1, ok, error, errorCode: ok ? '' : 'FAILED', message: '', host: 'test-host' };
}

function target(name: string): AppInfo[] {
  const apps = name === 'all' ? APPS : APPS.filter((a) => a.spec?.name === name || String(a.appId) === name);
  if (apps.length === 0) throw new NotFoundError(`no app named "${name}"`, { hint: 'see the names with: fleet ls' });
  return apps;
}

export async function startFakeDaemon(dir?: string): Promise<FakeDaemon> {
  const home = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-cli-'));
  const calls: FakeDaemon['calls'] = [];
  let server: Server | undefined;

  function unary<Req, Res>(method: string, fn: (req: Req) => Res) {
    return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
      calls.push({ method, request: call.request });
      try {
        cb(null, fn(call.request));
      } catch (err) {
        cb(toServiceError(err) as never);
      }
    };
  }
  // "worker" fails every action: a partial failure for `all`.
  const act = (name: string): ActionResponse => ({
    results: target(name).map((a) => result(a.spec!.name, a.spec!.name !== 'worker', 'exited with code 1 before ready')),
  });

  const impl: FleetServer = {
    ping: unary('ping', () => ({ pid: process.pid, version: FLEET_VERSION, home, startedMs: Date.now() - 5000, host: 'test-host', mode: 'local', role: 'operator' })),
    start: unary('start', (req: { apps: AppSpec[] }) => ({
      results: req.apps.map((a) => result(a.name)),
      apps: APPS.filter((a) => req.apps.some((s) => s.name === a.spec?.name)),
    })),
    list: unary('list', () => ({ apps: APPS })),
    describe: unary('describe', (req: { target: string }) => ({ apps: target(req.target) })),
    stop: unary('stop', (req: { target: string }) => act(req.target)),
    restart: unary('restart', (req: { target: string }) => act(req.target)),
    reload: unary('reload', (req: { target: string }) => act(req.target)),
    delete: unary('delete', (req: { target: string }) => act(req.target)),
    scale: unary('scale', (req: { target: string }) => ({ results: [{ ...result(req.target), message: '2 -> 4 instances' }] })),
    flush: unary('flush', (req: { target: string }) => act(req.target)),
    save: unary('save', () => ({ path: path.join(home, 'dump.json'), apps: 2, results: [] })),
    resurrect: unary('resurrect', () => ({ results: [result('api')] })),
    kill: unary('kill', () => {
      // Like the daemon: answer, then go away.
      setTimeout(() => server?.forceShutdown(), 20);
      return { stoppedApps: 2 };
    }),
    hosts: unary('hosts', () => ({ hosts: [] })),
    forgetHost: unary('forgetHost', () => ({ hosts: [] })),
    createToken: unary('createToken', () => {
      throw new NotFoundError('no tokens here');
    }),
    revokeToken: unary('revokeToken', () => {
      throw new NotFoundError('no tokens here');
    }),
    listTokens: unary('listTokens', () => ({ tokens: [] })),
    hasArtifact: unary('hasArtifact', () => ({ present: false, maxBytes: 0 })),
    uploadArtifact: (_call, cb) => cb(null, { present: true, maxBytes: 0 }),
    deploy: unary('deploy', () => ({})),
    deployments: unary('deployments', () => ({ deployments: [] })),
    watchDeployment: (call) => call.end(),
    controlDeployment: unary('controlDeployment', () => ({})),
    releases: unary('releases', () => ({ releases: [], hosts: [] })),
    rollback: unary('rollback', () => ({})),
    logs: (call) => {
      calls.push({ method: 'logs', request: call.request });
      for (const l of LINES) call.write(l);
      // With follow, keep the stream open until the client cancels.
      if (!call.request.follow) call.end();
    },
  };

  server = new Server();
  server.addService(FleetService, impl as unknown as UntypedServiceImplementation);
  const socket = fleetPaths(home).socket;
  await new Promise<void>((resolve, reject) =>
    server!.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return {
    home,
    env: { FLEET_HOME: home },
    calls,
    close: async () => {
      await new Promise<void>((resolve) => server!.tryShutdown(() => resolve()));
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
