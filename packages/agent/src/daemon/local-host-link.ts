// The local daemon's own host, linked to its embedded controller in-process:
// no encoding, and logs followed straight from the files.
import type { HostMethod, HostRequest, HostResponse } from '@fleet/protocol';
import type { HostLink } from '@fleet/controller';
import type { HostService } from './host-service';

export class LocalHostLink implements HostLink {
  constructor(private readonly host: HostService) {}

  call<M extends HostMethod>(method: M, req: HostRequest<M>): Promise<HostResponse<M>> {
    const fn = this.host[method] as unknown as (r: HostRequest<M>) => Promise<HostResponse<M>>;
    return fn(req);
  }

  follow: HostLink['follow'] = (req, emit) => this.host.follow(req, emit);

  close(): void {
    // Nothing to drop: the host is this process.
  }
}
