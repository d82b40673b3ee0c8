// The Fleet service as a controller serves it: every request is run on the
// hosts its selector names and answered per host. The local daemon serves the
// same code with one host, itself, linked in-process.
import {
  type AppInfo,
  type AppResult,
  asFleetError,
  BadInputError,
  errorFromCode,
  type HostInfo,
  type FleetErrorCode,
  FleetError,
  type FleetServer,
  FleetService,
  type HostMethod,
  type HostRequest,
  type HostSelector,
  HostStatus,
  hostStatusWord,
  isEmptySelector,
  type LogLine,
  type LogsRequest,
  LogStream,
  NotFoundError,
  DeniedError,
  type PingResponse,
  summarizeApps,
  type TokenInfo,
  toServiceError,
} from '@fleet/protocol';
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import type { Authorizer } from './authorizer';
import { BoundedWriter } from './bounded-writer';
import type { FollowHandle } from './host-link';
import type { OpenStreams } from './open-streams';
import type { HostEntry, HostRegistry } from './host-registry';
import { type LogFeed, type LogFilter, matchesLog, mergeByTime } from './log-hub';

export interface TokenAdmin {
  create(role: string, name?: string): { info: TokenInfo; token: string };
  revoke(idOrName: string): TokenInfo;
  list(): TokenInfo[];
}

export interface ControllerServiceDeps {
  registry: HostRegistry;
  logs: LogFeed;
  authorize: Authorizer;
  mode: 'local' | 'controller';
  ping: Omit<PingResponse, 'mode' | 'role'>;
  tokens?: TokenAdmin;
  /** Local mode: `fleet kill` stops every app, then the daemon. */
  kill?: () => Promise<number>;
  /** Where `logs -f` streams are tracked, to end with their token. */
  streams?: OpenStreams;
  /** Releases and deploys (createDeployService). */
  deploy?: DeployHandlers;
}

export type DeployHandlers = Pick<FleetServer, 'hasArtifact' | 'uploadArtifact' | 'deploy' | 'deployments' | 'watchDeployment' | 'controlDeployment' | 'releases' | 'rollback'>;

type Path = (typeof FleetService)[keyof typeof FleetService]['path'];

function unary<Req, Res>(authorize: Authorizer, path: Path, fn: (req: Req, role: string) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request, authorize(call.metadata as Metadata, path).role))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err) as ServiceError),
      );
  };
}

function unavailable(entry: HostEntry): FleetError {
  const since = new Date(entry.info.statusSinceMs).toISOString();
  return new FleetError('UNAVAILABLE', `${entry.info.name} is ${hostStatusWord(entry.info.status)} since ${since}${entry.info.problem ? `: ${entry.info.problem}` : ''}`, {
    host: entry.info.name,
    hint: `its apps keep running as they were; the command can be repeated once \`fleet hosts\` shows ${entry.info.name} ready`,
  });
}

function failedResult(host: string, app: string, err: unknown): AppResult {
  const code: FleetErrorCode = err instanceof FleetError ? err.code : 'FAILED';
  return {
    host,
    app,
    appId: -1,
    ok: false,
    error: err instanceof Error ? err.message : String(err),
    errorCode: code,
    message: err instanceof FleetError ? (err.hint ?? '') : '',
  };
}

const isAllTarget = (target: string): boolean => target === '' || target === 'all';

const MASK = '****';
const maskValues = (env: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.keys(env).map((k) => [k, MASK]));

/** Env values are secrets more often than not: only operators get them, as only operators can start apps. */
function forRole<T extends AppInfo | HostInfo>(items: T[], role: string): T[] {
  if (role === 'operator') return items;
  return items.map((item) =>
    'spec' in item
      ? { ...item, hostEnv: maskValues(item.hostEnv), spec: item.spec && { ...item.spec, env: maskValues(item.spec.env) } }
      : { ...item, env: maskValues((item as HostInfo).env) },
  );
}

/** A single host's error, named for the host it came from. */
function onHost(host: string, err: unknown): unknown {
  const e = asFleetError(err);
  if (!e || e.message.startsWith(`${host}: `) || e.message.startsWith(`${host} `)) return err;
  return errorFromCode(e.code, `${host}: ${e.message}`, { hint: e.hint, host, app: e.app, cause: err });
}

export function createControllerService(deps: ControllerServiceDeps): FleetServer {
  const { registry, authorize } = deps;
  const P = FleetService;

  const appsOn = async (entry: HostEntry, fresh: boolean): Promise<AppInfo[]> => {
    // The local host answers in-process with a fresh sample; remote hosts from their last report.
    if (entry.link?.follow) return (await entry.link.call('list', { fresh, summary: false, where: undefined })).apps;
    return registry.appsOf(entry);
  };

  /**
   * Hosts an action on `target` goes to: the selected ones, or, with no
   * selector, those running the app (hosts down for good are left out).
   */
  const actionHosts = (where: HostSelector | undefined, target: string): HostEntry[] => {
    let entries = registry.select(where);
    if (isEmptySelector(where) && entries.length > 1) entries = entries.filter((e) => e.info.status !== HostStatus.HOST_STATUS_DOWN);
    if (entries.length <= 1 || isAllTarget(target)) return entries;
    const byId = /^\d+$/.test(target);
    const matches = (a: AppInfo): boolean => a.spec?.name === target || (byId && String(a.appId) === target);
    const having = entries.filter((e) => [...e.apps.values()].some(matches));
    if (byId) {
      // App ids are numbered per host: id 4 is one app on web1 and another on web3.
      const meant = having.map((e) => `${e.info.name}: ${[...e.apps.values()].find(matches)?.spec?.name ?? '?'}`);
      if (new Set(meant.map((m) => m.split(': ')[1])).size > 1) {
        throw new BadInputError(`app id ${target} is a different app on each host (${meant.join(', ')})`, {
          hint: 'name the app, or pick one host with --hosts',
        });
      }
    }
    if (!isEmptySelector(where)) return entries;
    if (having.length === 0) {
      throw new NotFoundError(`no host runs an app named ${target}`, {
        app: target,
        hint: 'see the apps with `fleet ls`; to start it, name the hosts: `fleet start <file> --hosts web1`',
      });
    }
    return having;
  };

  /** One call per host; with several hosts, failures become per-host results instead of one error. */
  const fanOut = async <M extends HostMethod, R>(
    entries: HostEntry[],
    method: M,
    req: HostRequest<M>,
    pick: (res: Awaited<ReturnType<NonNullable<HostEntry['link']>['call']>>, entry: HostEntry) => R[],
    failure: (entry: HostEntry, err: unknown) => R[],
  ): Promise<R[]> => {
    const single = entries.length === 1;
    const parts = await Promise.all(
      entries.map(async (entry) => {
        try {
          if (!entry.link) throw unavailable(entry);
          return pick(await entry.link.call(method, req), entry);
        } catch (err) {
          if (single) throw deps.mode === 'controller' ? onHost(entry.info.name, err) : err;
          return failure(entry, err);
        }
      }),
    );
    return parts.flat();
  };

  /** A selected host that does not have the app is skipped, not failed; none having it is an error. */
  const perHostFailure = (target: string) => (e: HostEntry, err: unknown): AppResult[] =>
    asFleetError(err)?.code === 'NOT_FOUND' && !isAllTarget(target) ? [] : [failedResult(e.info.name, target, err)];
  const noneHad = (entries: HostEntry[], target: string, results: unknown[]): void => {
    if (entries.length > 1 && results.length === 0 && !isAllTarget(target)) {
      throw new NotFoundError(`no app ${target} on ${entries.map((e) => e.info.name).join(', ')}`, {
        app: target,
        hint: 'see the apps with `fleet ls`',
      });
    }
  };

  const action = (method: 'stop' | 'restart' | 'reload' | 'delete' | 'flush' | 'scale') =>
    unary(authorize, P[method].path, async (req: HostRequest<typeof method>) => {
      const entries = actionHosts(req.where, req.target);
      const results = await fanOut(
        entries,
        method,
        req,
        (res) => (res as { results: AppResult[] }).results,
        perHostFailure(req.target),
      );
      noneHad(entries, req.target, results);
      return { results };
    });

  const logFilter = (req: LogsRequest, entries: HostEntry[]): LogFilter => {
    const target = req.target || 'all';
    let apps: Set<string> | undefined;
    if (!isAllTarget(target)) {
      apps = new Set([target]);
      for (const e of entries) for (const a of e.apps.values()) if (String(a.appId) === target && a.spec) apps.add(a.spec.name);
    }
    return {
      hosts: new Set(entries.map((e) => e.info.name)),
      apps,
      stream: req.stream ?? LogStream.LOG_STREAM_UNSPECIFIED,
      grep: req.grep || undefined,
    };
  };

  return {
    ping: unary(authorize, P.ping.path, (_req, role) => ({ ...deps.ping, mode: deps.mode, role })),

    hosts: unary(authorize, P.hosts.path, async (req, role) => {
      const entries = registry.select(req.where);
      // The in-process host is asked now; remote hosts are as last reported.
      for (const e of entries) if (e.link?.follow) registry.snapshot(e.info.name, await appsOn(e, false));
      return { hosts: forRole(entries.map((e) => registry.view(e)), role) };
    }),

    forgetHost: unary(authorize, P.forgetHost.path, (req) => {
      if (deps.mode === 'local') throw new BadInputError('the local daemon has one host, itself', { hint: 'forget hosts on a controller: --context <name>' });
      return { hosts: [registry.forget(req.name)] };
    }),

    list: unary(authorize, P.list.path, async (req, role) => {
      const entries = registry.select(req.where);
      const apps = (await Promise.all(entries.map((e) => appsOn(e, req.fresh)))).flat();
      return { apps: forRole(req.summary ? summarizeApps(apps) : apps, role) };
    }),

    describe: unary(authorize, P.describe.path, async (req, role) => {
      const entries = actionHosts(req.where, req.target);
      const apps = await fanOut(
        entries,
        'describe',
        req,
        (res) => (res as { apps: AppInfo[] }).apps,
        (e, err) => {
          if (asFleetError(err)?.code === 'NOT_FOUND') return [];
          // A host we cannot ask: show what it last reported.
          return registry.appsOf(e).filter((a) => a.spec?.name === req.target || isAllTarget(req.target));
        },
      );
      if (apps.length === 0) {
        throw new NotFoundError(`no app ${req.target} on ${entries.map((e) => e.info.name).join(', ')}`, {
          app: req.target,
          hint: 'see the apps with `fleet ls`',
        });
      }
      return { apps: forRole(apps, role) };
    }),

    start: unary(authorize, P.start.path, async (req) => {
      const entries = registry.select(req.where);
      if (entries.length > 1 && isEmptySelector(req.where)) {
        throw new BadInputError(`say where to start: this controller has ${entries.length} hosts`, {
          hint: `add --hosts ${entries[0].info.name} (or several, comma-separated) or --selector role=web`,
        });
      }
      const names = req.apps.map((a) => a.name).join(',');
      const out = await fanOut(
        entries,
        'start',
        req,
        (res) => [res as { results: AppResult[]; apps: AppInfo[] }],
        (e, err) => [{ results: [failedResult(e.info.name, names, err)], apps: [] as AppInfo[] }],
      );
      return { results: out.flatMap((o) => o.results), apps: out.flatMap((o) => o.apps) };
    }),

    stop: action('stop'),
    restart: action('restart'),
    reload: action('reload'),
    delete: action('delete'),
    flush: action('flush'),

    scale: action('scale'),

    save: unary(authorize, P.save.path, async (req) => {
      const entries = actionHosts(req.where, 'all');
      if (deps.mode === 'local' && entries.length === 1 && entries[0].link) return entries[0].link.call('save', req);
      const results = await fanOut(
        entries,
        'save',
        req,
        (res, e) => {
          const r = res as { path: string; apps: number };
          return [{ host: e.info.name, app: '', appId: -1, ok: true, error: '', errorCode: '', message: `${r.apps} apps to ${r.path}` }];
        },
        (e, err) => [failedResult(e.info.name, '', err)],
      );
      return { path: '', apps: 0, results };
    }),

    resurrect: unary(authorize, P.resurrect.path, async (req) => {
      const results = await fanOut(
        actionHosts(req.where, 'all'),
        'resurrect',
        req,
        (res) => (res as { results: AppResult[] }).results,
        (e, err) => [failedResult(e.info.name, '', err)],
      );
      return { results };
    }),

    kill: unary(authorize, P.kill.path, async () => {
      if (!deps.kill) {
        throw new BadInputError('fleet kill stops a local daemon and its apps; this is a controller', {
          hint: 'to stop apps across hosts: fleet stop all --hosts web1,web2',
        });
      }
      return { stoppedApps: await deps.kill() };
    }),

    createToken: unary(authorize, P.createToken.path, (req) => tokenAdmin().create(req.role, req.name || undefined)),
    revokeToken: unary(authorize, P.revokeToken.path, (req) => ({ info: tokenAdmin().revoke(req.id) })),
    listTokens: unary(authorize, P.listTokens.path, () => ({ tokens: tokenAdmin().list() })),

    ...(deps.deploy ?? noDeploys()),

    logs: (call: ServerWritableStream<LogsRequest, LogLine>) => {
      const req = call.request;
      const handles: FollowHandle[] = [];
      let unsubscribe: (() => void) | undefined;
      let untrack: (() => void) | undefined;
      let closed = false;
      const finish = (): void => {
        if (closed) return;
        closed = true;
        unsubscribe?.();
        untrack?.();
        for (const h of handles) h.close();
      };
      call.on('cancelled', finish);
      call.on('close', finish);
      const out = new BoundedWriter(call);
      const emit = (line: LogLine): void => {
        if (!closed) out.write(line);
      };
      const run = async (): Promise<void> => {
        const caller = authorize(call.metadata, P.logs.path);
        const entries = registry.select(req.where);
        const filter = logFilter(req, entries);
        const local = entries.filter((e) => e.link?.follow);
        const remote = entries.filter((e) => !e.link?.follow);
        // With NATS, lines of hosts linked to other controllers come here too: "every host" takes them in.
        const everyHost = deps.logs.clusterWide && isEmptySelector(req.where);
        const anyoneLogs = async (): Promise<boolean> =>
          everyHost && (await deps.logs.tail({ stream: LogStream.LOG_STREAM_UNSPECIFIED, apps: filter.apps }, 1)).length > 0;
        if (filter.apps && local.length === 0 && !remote.some((e) => [...e.apps.values()].some((a) => filter.apps!.has(a.spec?.name ?? ''))) && !(await anyoneLogs())) {
          throw new NotFoundError(`no app ${req.target} on ${entries.map((e) => e.info.name).join(', ')}`, {
            app: req.target,
            hint: 'see the apps with `fleet ls`',
          });
        }
        if (req.follow) {
          untrack = deps.streams?.track(caller.tokenId, (reason) => {
            finish();
            call.emit('error', toServiceError(new DeniedError(`this log stream ended: ${reason}`)));
          });
          // Backlog from the hub's window and the subscription in one step: no line twice, none missed.
          if (remote.length > 0 || everyHost) {
            // Following every host includes hosts that register later.
            const rf = { ...filter, hosts: isEmptySelector(req.where) && local.length === 0 ? undefined : new Set(remote.map((e) => e.info.name)) };
            const stop = await deps.logs.follow(rf, req.lines, emit);
            if (closed) stop();
            else unsubscribe = stop;
          }
          for (const e of local) {
            const grep = filter.grep;
            handles.push(await e.link!.follow!(req, (line) => (grep && !line.line.includes(grep) ? undefined : emit(line))));
          }
          if (closed) finish();
          return;
        }
        const tails = await Promise.all(
          entries.map(async (e) => {
            const hf = { ...filter, hosts: new Set([e.info.name]) };
            if (!e.link || e.info.status !== HostStatus.HOST_STATUS_READY) return deps.logs.tail(hf, req.lines);
            try {
              return (await e.link.call('logs', req)).lines.filter((l) => matchesLog(hf, l));
            } catch (err) {
              if (entries.length === 1) throw deps.mode === 'controller' ? onHost(e.info.name, err) : err;
              // A host without the app has nothing to show; an unreachable one, its last lines.
              return asFleetError(err)?.code === 'NOT_FOUND' ? [] : deps.logs.tail(hf, req.lines);
            }
          }),
        );
        if (everyHost) {
          const known = new Set(entries.map((e) => e.info.name));
          const elsewhere = (await deps.logs.tail({ ...filter, hosts: undefined }, req.lines)).filter((l) => !known.has(l.host));
          if (elsewhere.length > 0) tails.push(elsewhere);
        }
        // A bounded tail: written whole (grpc buffers it), then the stream ends.
        for (const line of tails.length === 1 ? tails[0] : mergeByTime(tails.flat())) if (!closed) call.write(line);
        call.end();
      };
      run().catch((err: unknown) => {
        finish();
        call.emit('error', toServiceError(err));
      });
    },
  };

  function tokenAdmin(): TokenAdmin {
    if (!deps.tokens) {
      throw new BadInputError('tokens belong to a controller; the local daemon is guarded by its socket (mode 0600)', {
        hint: 'run it against a controller: fleet context use <name>, or --context <name>',
      });
    }
    return deps.tokens;
  }
}

/** A host linked to a controller: its releases come from there. */
function noDeploys(): DeployHandlers {
  const err = (): Error =>
    toServiceError(
      new FleetError('CONFLICT', 'this host is linked to a controller, which numbers and ships its releases', {
        hint: 'deploy through the controller: fleet deploy <app> --context <its context> --hosts <this host>',
      }),
    ) as Error;
  const no = (_c: unknown, cb: (e: Error) => void): void => cb(err());
  return { hasArtifact: no, uploadArtifact: no, deploy: no, deployments: no, watchDeployment: (c) => c.emit('error', err()), controlDeployment: no, releases: no, rollback: no };
}
