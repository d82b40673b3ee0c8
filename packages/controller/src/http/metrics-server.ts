// The HTTP face of a controller (or of an agent's embedded one) for scrapers
// and dashboards, on node's own http/https server:
//   GET /metrics        Prometheus text format 0.0.4 (fleet-metrics → prometheus-text)
//   GET /healthz        200 `ok` while serving, 503 once stopping; never needs a token
//   GET /api/v1/hosts   [HostInfo] as proto3 JSON, env values masked
//   GET /api/v1/apps    [AppInfo] as proto3 JSON, env values masked
// Anything else is 404 (405 for another method on these paths). Who may call
// is decided by the guard given (metrics-access.ts); serving beyond loopback
// without one is refused here too, whatever the caller checked before.
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { AppInfo, BadInputError, HostInfo, isLoopbackAddress, parseListen } from '@fleet/protocol';
import { type FleetSnapshot, fleetMetrics } from './fleet-metrics';
import { METRICS_LISTEN_FLAG, type RequestGuard } from './metrics-access';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus-text';

export interface Health {
  ok: boolean;
  /** A few words after `ok` (or instead of it): "controller listening on 127.0.0.1:7070". */
  detail?: string;
}

export interface MetricsServerOptions {
  /** host:port (--metrics-listen); port 0 picks a free one. */
  listen: string;
  /** The fleet as it is now: asked once per request. */
  snapshot: () => Promise<FleetSnapshot>;
  health: () => Health;
  /** Checks every request but /healthz; required beyond loopback. */
  guard?: RequestGuard;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  log?: (msg: string) => void;
}

export interface RunningMetricsServer {
  /** host:port actually bound. */
  address: string;
  port: number;
  /** http(s)://host:port */
  url: string;
  close(): Promise<void>;
}

const MASK = '****';
const masked = (env: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.keys(env ?? {}).map((k) => [k, MASK]));

/** Env values are secrets more often than not: the HTTP API never shows them (keys stay). */
export function hostsJson(hosts: HostInfo[]): unknown[] {
  return hosts.map((h) => HostInfo.toJSON({ ...h, env: masked(h.env) }));
}

/** Arguments carry secrets too (`--password=…`): a scrape secret must not read them. */
export function appsJson(apps: AppInfo[]): unknown[] {
  const hidden = (args: string[]): string[] => args.map(() => MASK);
  return apps.map((a) =>
    AppInfo.toJSON({
      ...a,
      hostEnv: masked(a.hostEnv),
      spec: a.spec && { ...a.spec, env: masked(a.spec.env), args: hidden(a.spec.args), interpreterArgs: hidden(a.spec.interpreterArgs) },
    }),
  );
}

type Route = 'metrics' | 'healthz' | 'hosts' | 'apps';
const ROUTES: Record<string, Route> = {
  '/metrics': 'metrics',
  '/healthz': 'healthz',
  '/api/v1/hosts': 'hosts',
  '/api/v1/apps': 'apps',
};

function send(res: http.ServerResponse, head: boolean, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': type, 'content-length': String(bytes.length), 'cache-control': 'no-store', ...extra });
  res.end(head ? undefined : bytes);
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

export async function startMetricsServer(opts: MetricsServerOptions): Promise<RunningMetricsServer> {
  const { host, port } = parseListen(opts.listen, METRICS_LISTEN_FLAG);
  if (!isLoopbackAddress(host) && !opts.guard) {
    throw new BadInputError(`refusing to serve metrics on ${opts.listen} without a token check`, { hint: 'keep --metrics-listen on 127.0.0.1' });
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://fleet').pathname;
    } catch {
      return send(res, false, 400, TEXT, 'bad request line\n');
    }
    const route = ROUTES[pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname];
    if (!route) return send(res, req.method === 'HEAD', 404, TEXT, `not found: ${pathname}\nserved here: ${Object.keys(ROUTES).join(', ')}\n`);
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return send(res, false, 405, TEXT, `${req.method} is not served; use GET\n`, { allow: 'GET, HEAD' });

    if (route === 'healthz') {
      const h = opts.health();
      const text = h.ok ? (h.detail ? `ok: ${h.detail}` : 'ok') : `unavailable${h.detail ? `: ${h.detail}` : ''}`;
      return send(res, head, h.ok ? 200 : 503, TEXT, `${text}\n`);
    }

    const refusal = opts.guard?.(req.headers.authorization);
    if (refusal) {
      const extra: Record<string, string> = refusal.status === 401 ? { 'www-authenticate': 'Bearer realm="fleet"' } : {};
      return send(res, head, refusal.status, TEXT, `${refusal.message}\n  fix: ${refusal.hint}\n`, extra);
    }

    const snapshot = await opts.snapshot();
    switch (route) {
      case 'metrics':
        return send(res, head, 200, PROMETHEUS_CONTENT_TYPE, renderPrometheus(fleetMetrics(snapshot)));
      case 'hosts':
        return send(res, head, 200, JSON_TYPE, `${JSON.stringify(hostsJson(snapshot.hosts))}\n`);
      case 'apps':
        return send(res, head, 200, JSON_TYPE, `${JSON.stringify(appsJson(snapshot.apps))}\n`);
    }
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      opts.log?.(`metrics: ${req.method} ${req.url} failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(res, false, 500, TEXT, `failed: ${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : http.createServer(onRequest);
  // A scraper that opens a connection and says nothing must not hold it for ever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void =>
      reject(
        new BadInputError(`cannot serve metrics on ${opts.listen}: ${err.code === 'EADDRINUSE' ? 'the address is in use' : err.message}`, {
          hint: 'pick another port with --metrics-listen host:port',
        }),
      );
    server.once('error', failed);
    server.listen({ host, port }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (err) => opts.log?.(`metrics server: ${err.message}`));

  const bound = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `${opts.tls ? 'https' : 'http'}://${hostPart}:${bound}`;
  opts.log?.(`metrics on ${url}/metrics (also /healthz, /api/v1/hosts, /api/v1/apps)${opts.guard ? ', token required' : ''}`);
  return {
    address: `${hostPart}:${bound}`,
    port: bound,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
