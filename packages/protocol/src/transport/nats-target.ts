// Where a controller or an agent finds NATS, from its flags: checked and read
// at startup (a wrong URL or an unreadable file fails naming the flag), then
// handed to connectNats (@fleet/protocol/nats), which alone loads the client.
import * as fs from 'node:fs';
import { BadInputError } from '../errors';
import { DEFAULT_NATS_CLUSTER, natsClusterProblem } from '../nats-subjects';

/** The flags, as typed. */
export interface NatsFlags {
  /** `--nats`: nats://host:port, tls://host:port or host:port; comma-separated for a NATS cluster; `nats://user:pass@host` logs in. */
  url: string;
  /** `--nats-cluster`: the subject prefix fleet.<cluster>. @default 'default' */
  cluster?: string;
  /** `--nats-creds`: a NATS credentials file (JWT and NKey seed, as `nsc` writes it). */
  credsFile?: string;
  /** `--nats-token-file`: a file holding the server's auth token. */
  tokenFile?: string;
  /** `--nats-tls-ca`: PEM CA bundle that signed the NATS server's certificate (implies TLS). */
  tlsCa?: string;
  /** `--nats-tls-cert` / `--nats-tls-key`: a client certificate, for servers that verify clients. */
  tlsCert?: string;
  tlsKey?: string;
}

export interface NatsTarget {
  servers: string[];
  cluster: string;
  user?: string;
  pass?: string;
  token?: string;
  /** The credentials file's content. */
  creds?: Uint8Array;
  /** Set: TLS is required (a tls:// URL or any TLS file). */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** For messages: the servers without credentials. */
  display: string;
}

function readFlagFile(file: string, flag: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new BadInputError(`cannot read ${flag} ${file}: ${(err as Error).message}`, { hint: `pass the file holding the ${what}`, cause: err });
  }
}

export function natsTarget(flags: NatsFlags): NatsTarget {
  const cluster = flags.cluster ?? DEFAULT_NATS_CLUSTER;
  const clusterProblem = natsClusterProblem(cluster);
  if (clusterProblem) throw new BadInputError(clusterProblem, { hint: 'e.g. --nats-cluster prod' });
  const urls = flags.url.split(',').map((s) => s.trim()).filter(Boolean);
  if (urls.length === 0) throw new BadInputError('--nats needs a URL', { hint: 'e.g. --nats nats://nats.internal:4222' });
  let user: string | undefined;
  let pass: string | undefined;
  let tlsScheme = false;
  const servers = urls.map((u) => {
    const withScheme = /^[a-z]+:\/\//i.test(u) ? u : `nats://${u}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new BadInputError(`--nats "${u}" is not a NATS URL`, { hint: 'e.g. --nats nats://nats.internal:4222 (or tls://… for TLS)' });
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
      throw new BadInputError(`--nats "${u}": the scheme ${url.protocol}// is not NATS`, { hint: 'use nats://host:port, or tls://host:port for TLS' });
    }
    if (!url.hostname) throw new BadInputError(`--nats "${u}" names no host`, { hint: 'e.g. --nats nats://nats.internal:4222' });
    if (url.protocol === 'tls:') tlsScheme = true;
    if (url.username) {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    }
    return `${url.hostname.includes(':') && !url.hostname.startsWith('[') ? `[${url.hostname}]` : url.hostname}:${url.port || '4222'}`;
  });
  const auths = [user !== undefined && 'user:password in --nats', flags.tokenFile && '--nats-token-file', flags.credsFile && '--nats-creds'].filter(Boolean);
  if (auths.length > 1) {
    throw new BadInputError(`${auths.join(' and ')} were both given: NATS takes one way to log in`, { hint: 'keep the one your NATS server is configured for' });
  }
  let token: string | undefined;
  if (flags.tokenFile) {
    token = readFlagFile(flags.tokenFile, '--nats-token-file', 'NATS auth token').toString('utf8').trim();
    if (!token) throw new BadInputError(`the token file ${flags.tokenFile} (--nats-token-file) is empty`, { hint: 'write the NATS auth token into it' });
  }
  const creds = flags.credsFile ? new Uint8Array(readFlagFile(flags.credsFile, '--nats-creds', 'NATS credentials (nsc generate creds)')) : undefined;
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new BadInputError('--nats-tls-cert and --nats-tls-key go together', { hint: 'pass both the client certificate and its key, or neither' });
  }
  for (const [flag, file] of [['--nats-tls-ca', flags.tlsCa], ['--nats-tls-cert', flags.tlsCert], ['--nats-tls-key', flags.tlsKey]] as const) {
    if (file !== undefined) readFlagFile(file, flag, 'PEM file');
  }
  const tls = tlsScheme || flags.tlsCa || flags.tlsCert ? { caFile: flags.tlsCa, certFile: flags.tlsCert, keyFile: flags.tlsKey } : undefined;
  return { servers, cluster, user, pass, token, creds, tls, display: `${tls ? 'tls' : 'nats'}://${servers.join(',')}` };
}
