// TLS credentials for the controller's listener and for the clients that dial it
// (the CLI and agents), plus the address helpers the caller needs to decide
// whether plaintext is acceptable (loopback only).
//
// PEM files are read and parsed here, at startup, so a wrong path, a key that
// does not match its certificate or an encrypted key fails with the file and
// the flag named, instead of as a TLS handshake failure on the first call.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity as tlsCheckServerIdentity, type PeerCertificate } from 'node:tls';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { BadInputError } from '../errors';

export interface ServerTlsOptions {
  /** PEM certificate chain file (`--tls-cert`). */
  cert?: string;
  /** PEM private key file for `cert`, unencrypted (`--tls-key`). */
  key?: string;
  /** PEM CA bundle file (`--tls-ca`); passed as root certs, client certificates are not required. */
  ca?: string;
  /** Plaintext (`--insecure`); the caller decides whether the listen address allows it. */
  insecure?: boolean;
}

export interface ClientTlsOptions {
  /** PEM CA bundle that signed the controller's certificate (`--tls-ca`); system roots when absent. */
  ca?: string;
  /** Plaintext (`--insecure`). */
  insecure?: boolean;
  /**
   * The name the controller's certificate must carry, when it differs from the
   * host dialled (e.g. dialling an IP with a certificate issued for a DNS name).
   */
  serverName?: string;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export function serverCredentials(opts: ServerTlsOptions): ServerCredentials {
  const hasTls = opts.cert !== undefined || opts.key !== undefined || opts.ca !== undefined;
  if (opts.insecure) {
    if (hasTls) {
      throw new BadInputError('--insecure cannot be combined with --tls-cert, --tls-key or --tls-ca', {
        hint: 'drop --insecure to serve TLS, or drop the TLS files to serve plaintext',
      });
    }
    return ServerCredentials.createInsecure();
  }
  if (opts.cert === undefined && opts.key === undefined) {
    throw new BadInputError('no TLS certificate given', {
      hint: 'pass --tls-cert and --tls-key, or --insecure to serve plaintext',
    });
  }
  if (opts.cert === undefined) {
    throw new BadInputError(`--tls-key ${opts.key} was given without a certificate`, {
      hint: 'pass the matching certificate with --tls-cert',
    });
  }
  if (opts.key === undefined) {
    throw new BadInputError(`--tls-cert ${opts.cert} was given without its private key`, {
      hint: 'pass the matching private key with --tls-key',
    });
  }
  const certPem = readPem(opts.cert, '--tls-cert', 'certificate');
  const keyPem = readPem(opts.key, '--tls-key', 'private key');
  const cert = parseCertificate(certPem, opts.cert, '--tls-cert');
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new BadInputError(`the TLS key file ${opts.key} (--tls-key) is not an unencrypted PEM private key`, {
      hint: 'pass the key in PEM form without a passphrase (openssl pkey -in KEY -out plain.pem)',
      cause: err,
    });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new BadInputError(
      `the TLS key ${opts.key} (--tls-key) does not belong to the certificate ${opts.cert} (--tls-cert)`,
      { hint: 'pass the key the certificate was issued for' },
    );
  }
  const rootCerts = opts.ca === undefined ? null : caBundle(opts.ca);
  // Client certificates are not checked: callers authenticate with bearer tokens.
  return ServerCredentials.createSsl(rootCerts, [{ cert_chain: certPem, private_key: keyPem }], false);
}

export function clientCredentials(opts: ClientTlsOptions): ChannelCredentials {
  if (opts.insecure) {
    if (opts.ca !== undefined) {
      throw new BadInputError('--insecure cannot be combined with --tls-ca', {
        hint: 'drop --insecure to use TLS with that CA, or drop --tls-ca to dial plaintext',
      });
    }
    return ChannelCredentials.createInsecure();
  }
  const rootCerts = opts.ca === undefined ? null : caBundle(opts.ca);
  const serverName = opts.serverName;
  if (serverName === undefined) return ChannelCredentials.createSsl(rootCerts);
  // Verify the certificate against serverName instead of the dialled host.
  return ChannelCredentials.createSsl(rootCerts, null, null, {
    checkServerIdentity: (_host: string, cert: PeerCertificate) => tlsCheckServerIdentity(serverName, cert),
  });
}

/**
 * True when the address can only be reached from this machine: 127.0.0.0/8,
 * ::1 (also IPv4-mapped), `localhost`, unix sockets. Accepts a bare host, host:port,
 * [v6]:port, or a gRPC target (`dns:`, `unix:`). 0.0.0.0 and :: are not loopback.
 */
export function isLoopbackAddress(hostPortOrHost: string): boolean {
  let s = hostPortOrHost.trim();
  if (/^unix(-abstract)?:/i.test(s)) return true;
  s = s.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/i, '');
  const host = hostOf(s).toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  switch (isIP(host)) {
    case 4:
      return host.startsWith('127.');
    case 6:
      return isIpv6Loopback(host);
    default:
      return false;
  }
}

/** Parses a `--listen` value: `host:port` or `[v6]:port`, port 0-65535. */
export function parseListen(value: string, flag = '--listen'): ListenAddress {
  const s = value.trim();
  const fail = (why: string): never => {
    throw new BadInputError(`${flag} ${JSON.stringify(value)} is not a listen address: ${why}`, {
      hint: `write host:port, e.g. ${flag} 0.0.0.0:7070, ${flag} 127.0.0.1:7070 or ${flag} [::]:7070`,
    });
  };
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(s);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
    if (isIP(host) !== 6) fail(`${host || 'the bracketed host'} is not an IPv6 address`);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) return fail('the port is missing');
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) fail('an IPv6 address needs brackets');
    if (host === '') fail('the host is missing');
    if (isIP(host) === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) {
      fail(`${JSON.stringify(host)} is not a host name or IP address`);
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return fail('the port is not a number');
  const port = Number(portText);
  if (port > 65535) fail('the port is above 65535');
  return { host, port };
}

function readPem(file: string, flag: string, what: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new BadInputError(`cannot read the TLS ${what} file ${file} (${flag}): ${code}`, {
      hint: `check the path given to ${flag} and that this user may read it`,
      cause: err,
    });
  }
  if (!data.includes('-----BEGIN ')) {
    throw new BadInputError(`the TLS ${what} file ${file} (${flag}) is not PEM`, {
      hint: `pass a PEM file (text starting with -----BEGIN) to ${flag}; convert DER with openssl`,
    });
  }
  return data;
}

function parseCertificate(pem: Buffer, file: string, flag: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new BadInputError(`the TLS certificate file ${file} (${flag}) holds no PEM certificate`, {
      hint: `pass the certificate (-----BEGIN CERTIFICATE-----) to ${flag}`,
      cause: err,
    });
  }
}

function caBundle(file: string): Buffer {
  const pem = readPem(file, '--tls-ca', 'CA');
  parseCertificate(pem, file, '--tls-ca');
  return pem;
}

function hostOf(s: string): string {
  const bracketed = /^\[([^\]]*)\](:\d*)?$/.exec(s);
  if (bracketed) return bracketed[1]!;
  // Two or more colons without brackets: a bare IPv6 address, no port.
  if (s.indexOf(':') !== s.lastIndexOf(':')) return s;
  const colon = s.indexOf(':');
  return colon < 0 ? s : s.slice(0, colon);
}

function isIpv6Loopback(ip: string): boolean {
  // URL parsing normalises the spellings (0:0:0:0:0:0:0:1, ::ffff:7f00:1).
  let normal: string;
  try {
    normal = new URL(`http://[${ip}]/`).hostname;
  } catch {
    return false;
  }
  return normal === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(normal);
}
