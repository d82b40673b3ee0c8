// The Fleet service's release and deploy calls: artifact upload, deploy,
// status, watch, pause/resume/cancel/promote, releases, rollback. Checks and
// bookkeeping here; the rollout itself is the driver's.
import { randomBytes } from 'node:crypto';
import {
  type ArtifactChunk,
  type ArtifactPresence,
  BadInputError,
  ConflictError,
  type Deployment,
  type DeployRequest,
  type DeployResponse,
  FleetService,
  type HostSelector,
  HostStatus,
  hostStatusWord,
  isEmptySelector,
  NotFoundError,
  type ReleasesResponse,
  ReleaseState,
  type RolloutStrategy,
  toServiceError,
  UnavailableError,
  releaseAppNameProblem,
  withDefaults,
} from '@fleet/protocol';
import type { Metadata, sendUnaryData, ServerReadableStream, ServerUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import type { Authorizer, CallerRole } from '../authorizer';
import type { DeployHandlers } from '../fleet-service';
import type { HostEntry, HostRegistry } from '../host-registry';
import type { OpenStreams } from '../open-streams';
import type { ArtifactStore } from './artifact-store';
import type { DeployDriver } from './deploy-driver';
import type { ReleaseBook } from './release-book';
import { controlProblem, isFinal, newDeployment, stateWord } from './rollout-plan';

export interface DeployServiceDeps {
  registry: HostRegistry;
  artifacts: ArtifactStore;
  book: ReleaseBook;
  driver: DeployDriver;
  authorize: Authorizer;
  streams?: OpenStreams;
  now?: () => number;
}


type Path = (typeof FleetService)[keyof typeof FleetService]['path'];

const ACTIONS = ['pause', 'resume', 'cancel', 'promote'] as const;

function checkName(name: string): string {
  const app = name.trim();
  const problem = releaseAppNameProblem(app);
  if (problem) throw new BadInputError(problem, { hint: 'rename the app in its ecosystem file (fleet start keeps taking any PM2 name)' });
  return app;
}

function masked(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(env).map((k) => [k, '****']));
}

function unary<Req, Res>(authorize: Authorizer, path: Path, fn: (req: Req, caller: CallerRole) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request, authorize(call.metadata as Metadata, path)))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err) as ServiceError),
      );
  };
}

export function createDeployService(deps: DeployServiceDeps): DeployHandlers {
  const { registry, artifacts, book, driver, authorize } = deps;
  const now = deps.now ?? Date.now;
  const who = (caller: CallerRole): string => caller.tokenName || (caller.tokenId ? `token ${caller.tokenId}` : 'local operator');

  /** The hosts a deploy or rollback acts on: as selected, or those that run the app. */
  const targets = async (app: string, where: HostSelector | undefined): Promise<HostEntry[]> => {
    if (!isEmptySelector(where)) return registry.select(where);
    const all = registry.all();
    // The local daemon: one host, itself, whose apps are asked live.
    if (all.length === 1 && all[0].link?.follow) return all;
    const running = all.filter((e) => e.apps.has(app));
    if (running.length === 0) {
      throw new BadInputError(`no host runs ${app} yet: say where to deploy it`, { hint: `fleet deploy ${app} --hosts web1,web2 (or --selector role=web)` });
    }
    return running;
  };
  const ready = (entries: HostEntry[]): void => {
    const away = entries.filter((e) => e.info.status !== HostStatus.HOST_STATUS_READY || !e.link);
    if (away.length > 0) {
      throw new UnavailableError(`${away.map((e) => `${e.info.name} is ${hostStatusWord(e.info.status)}`).join(', ')}: nothing was deployed`, {
        host: away[0].info.name,
        hint: 'wait until `fleet hosts` shows it ready, or leave it out with --hosts',
      });
    }
  };
  const noneActive = (app: string): void => {
    const active = book.active(app);
    if (active) {
      throw new ConflictError(`deployment ${active.id} of ${app} (v${active.version}) is ${stateWord(active.state)}: one deployment per app at a time`, {
        hint: `follow it with \`fleet deploy status ${app}\`, or stop it with \`fleet deploy cancel ${active.id}\``,
      });
    }
  };
  const newId = (): string => randomBytes(4).toString('hex');
  /** The release a host runs the app from (0: by hand), undefined when it has no such app. */
  const runningVersion = async (e: HostEntry, app: string): Promise<number | undefined> => {
    if (e.link?.follow) {
      const res = await e.link.call('list', { fresh: false, summary: true, where: undefined });
      const info = res.apps.find((a) => a.spec?.name === app);
      return info ? (info.spec?.release ?? 0) : undefined;
    }
    const info = e.apps.get(app);
    return info ? (info.spec?.release ?? 0) : undefined;
  };
  /** By id or prefix; the live state when it is running (the book holds its last persisted step). */
  const found = (id: string): Deployment => {
    const d = id ? book.deployment(id) : undefined;
    if (!d) throw new NotFoundError(`no deployment ${id || '(empty id)'}`, { hint: 'list them with `fleet deploy status`' });
    return driver.current(d.id) ?? d;
  };

  return {
    hasArtifact: unary(authorize, FleetService.hasArtifact.path, (req) => ({ present: artifacts.has(req.digest), maxBytes: artifacts.maxBytes })),

    uploadArtifact: (call: ServerReadableStream<ArtifactChunk, ArtifactPresence>, callback: sendUnaryData<ArtifactPresence>): void => {
      const done = (err: unknown): void => callback(toServiceError(err) as ServiceError);
      try {
        authorize(call.metadata as Metadata, FleetService.uploadArtifact.path);
      } catch (err) {
        done(err);
        return;
      }
      (async () => {
        const iterator = call[Symbol.asyncIterator]() as AsyncIterator<ArtifactChunk>;
        const first = await iterator.next();
        const ref = first.done ? undefined : (first.value as ArtifactChunk).ref;
        if (!ref) throw new BadInputError('an upload must start with the artifact it carries (digest and size)', { hint: 'upload with `fleet deploy`' });
        async function* data(): AsyncGenerator<Uint8Array> {
          if (!first.done && first.value.data.length) yield first.value.data;
          for (;;) {
            const next = await iterator.next();
            if (next.done) return;
            yield (next.value as ArtifactChunk).data;
          }
        }
        await artifacts.receive(ref.digest, ref.sizeBytes, data());
        return { present: true, maxBytes: artifacts.maxBytes };
      })().then((res) => callback(null, res), done);
    },

    deploy: unary(authorize, FleetService.deploy.path, async (req: DeployRequest, caller): Promise<DeployResponse> => {
      const app = checkName(req.app);
      if (!req.spec || req.spec.name !== app) throw new BadInputError(`the deploy request carries no spec for ${app}`, { hint: 'deploy with the fleet CLI, from the app folder' });
      if (!req.artifact || !artifacts.has(req.artifact.digest)) {
        throw new NotFoundError(`the artifact of ${app} was not uploaded`, { hint: 'deploy with the fleet CLI: it uploads the artifact first' });
      }
      const entries = await targets(app, req.where);
      ready(entries);
      noneActive(app);
      const id = newId();
      const release = book.add({
        app,
        digest: req.artifact.digest,
        sizeBytes: req.artifact.sizeBytes,
        spec: req.spec,
        createdMs: now(),
        createdBy: who(caller),
        gitCommit: req.gitCommit,
        gitDirty: req.gitDirty,
        state: ReleaseState.RELEASE_STATE_PENDING,
        deploymentId: id,
        strategy: withDefaults(req.strategy),
      });
      const d = newDeployment({ id, app, version: release.version, hosts: entries.map((e) => e.info.name), strategy: req.strategy, createdBy: who(caller), rollback: false, now: now() });
      driver.start(d);
      return { deployment: d };
    }),

    deployments: unary(authorize, FleetService.deployments.path, (req) => {
      if (req.id) return { deployments: [found(req.id)] };
      const all = book.deployments(req.app).map((d) => driver.current(d.id) ?? d);
      if (req.all) return { deployments: all };
      const latest = new Map<string, Deployment>();
      for (const d of all) if (!latest.has(d.app)) latest.set(d.app, d);
      if (req.app && latest.size === 0 && book.releases(req.app).length === 0) {
        throw new NotFoundError(`${req.app} was never deployed`, { hint: `deploy it with \`fleet deploy ${req.app} --hosts …\`` });
      }
      return { deployments: [...latest.values()] };
    }),

    watchDeployment: (call: ServerWritableStream<{ id: string }, Deployment>): void => {
      let d: Deployment;
      try {
        const caller = authorize(call.metadata as Metadata, FleetService.watchDeployment.path);
        d = found(call.request.id);
        const untrack = deps.streams?.track(caller.tokenId, () => call.end());
        call.on('close', () => untrack?.());
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      call.write(d);
      if (isFinal(d.state) && d.endedMs > 0) return void call.end();
      const stop = driver.watch(d.id, (next) => {
        if (call.writableEnded) return;
        call.write(next);
        if (isFinal(next.state) && next.endedMs > 0) {
          stop();
          call.end();
        }
      });
      call.on('cancelled', stop);
      call.on('close', stop);
    },

    controlDeployment: unary(authorize, FleetService.controlDeployment.path, (req, caller) => {
      const action = req.action as (typeof ACTIONS)[number];
      if (!ACTIONS.includes(action)) throw new BadInputError(`"${req.action}" is not something a deployment can do`, { hint: `use one of: ${ACTIONS.join(', ')}` });
      const d = found(req.id);
      // Unfinished but with no loop (it died on an internal error): take it up again, so it can be cancelled.
      if (!driver.isRunning(d.id) && d.endedMs === 0) driver.adopt(d);
      const problem = controlProblem(driver.current(d.id) ?? d, action);
      if (problem) throw new ConflictError(problem, { hint: `see \`fleet deploy status ${d.id}\`` });
      return { deployment: driver.control(d.id, action, who(caller)) };
    }),

    releases: unary(authorize, FleetService.releases.path, async (req, caller): Promise<ReleasesResponse> => {
      checkName(req.app);
      // Env values are secrets more often than not: only operators see them, as in `fleet describe`.
      const releases = book.releases(req.app).map((r) => (caller.role === 'operator' || !r.spec ? r : { ...r, spec: { ...r.spec, env: masked(r.spec.env) } }));
      const hosts = [];
      for (const e of registry.all()) {
        const version = await runningVersion(e, req.app);
        if (version !== undefined) hosts.push({ host: e.info.name, version });
      }
      if (releases.length === 0 && hosts.length === 0) {
        const known = book.apps();
        throw new NotFoundError(`${req.app} has no releases`, { hint: known.length ? `apps with releases: ${known.join(', ')}` : 'create one with `fleet deploy <app> --hosts …`' });
      }
      return { releases, hosts };
    }),

    rollback: unary(authorize, FleetService.rollback.path, async (req, caller): Promise<DeployResponse> => {
      const app = checkName(req.app);
      const releases = book.releases(app);
      if (releases.length === 0) throw new NotFoundError(`${app} has no releases to roll back to`, { hint: 'see `fleet releases <app>`' });
      const entries = await targets(app, req.where);
      const versions = await Promise.all(entries.map((e) => runningVersion(e, app)));
      const running = Math.max(0, ...versions.map((v) => v ?? 0));
      const target = req.toVersion > 0 ? book.release(app, req.toVersion) : book.lastGood(app, running || Infinity);
      if (!target) {
        throw new NotFoundError(req.toVersion > 0 ? `${app} has no release v${req.toVersion}` : `${app} has no good release${running ? ` before v${running}` : ''} to roll back to`, {
          hint: `releases: ${releases.map((r) => `v${r.version}`).join(', ')} (see \`fleet releases ${app}\`)`,
        });
      }
      ready(entries);
      noneActive(app);
      const strategy: RolloutStrategy = {
        ...(req.strategy ?? ({} as RolloutStrategy)),
        // Instant: every host at once, no stability wait (the release was good), no rollback of a rollback.
        batchSize: entries.length,
        canary: 0,
        minHealthyMs: 1,
        noAutoRollback: true,
      };
      const d = newDeployment({ id: newId(), app, version: target.version, hosts: entries.map((e) => e.info.name), strategy, createdBy: who(caller), rollback: true, now: now() });
      driver.start(d);
      return { deployment: d };
    }),
  };
}
