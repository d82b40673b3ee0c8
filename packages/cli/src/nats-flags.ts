// The NATS flags `fleet controller` and `fleet agent` share: where NATS is, how
// to log in and the fleet's subject prefix. Checked and read by the process
// that connects (natsTarget in @fleet/protocol); here only gathered, with
// paths made absolute.
import * as path from 'node:path';
import type { Command } from 'commander';
import type { NatsFlags } from '@fleet/protocol';
import { UsageError } from './usage-error';

export interface NatsCliFlags {
  nats?: string;
  natsCluster?: string;
  natsCreds?: string;
  natsTokenFile?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
}

export function addNatsOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--nats <url>', `NATS for ${what} (nats://host:4222, tls://…; comma-separated for a cluster; nats://user:pass@host logs in)`)
    .option('--nats-cluster <name>', 'subject prefix fleet.<name>: one NATS, several fleets (default "default")')
    .option('--nats-creds <file>', 'NATS credentials file (JWT + NKey seed, as nsc writes it)')
    .option('--nats-token-file <file>', "file holding the NATS server's auth token")
    .option('--nats-tls-ca <file>', "PEM CA bundle that signed the NATS server's certificate (implies TLS)")
    .option('--nats-tls-cert <file>', 'PEM client certificate, for a NATS server that verifies clients')
    .option('--nats-tls-key <file>', 'PEM private key of --nats-tls-cert');
}

/** The flags as the controller and daemon take them; undefined without --nats (and then no other --nats-* flag). */
export function natsFlags(flags: NatsCliFlags, cwd: string): NatsFlags | undefined {
  const abs = (f: string | undefined): string | undefined => f && path.resolve(cwd, f);
  if (!flags.nats) {
    const stray = Object.entries(flags).find(([k, v]) => k.startsWith('nats') && v !== undefined);
    if (stray) {
      const flag = `--${stray[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new UsageError(`${flag} only applies with --nats`, 'e.g. --nats nats://nats.internal:4222');
    }
    return undefined;
  }
  return {
    url: flags.nats,
    cluster: flags.natsCluster,
    credsFile: abs(flags.natsCreds),
    tokenFile: abs(flags.natsTokenFile),
    tlsCa: abs(flags.natsTlsCa),
    tlsCert: abs(flags.natsTlsCert),
    tlsKey: abs(flags.natsTlsKey),
  };
}
