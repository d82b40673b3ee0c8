// Release artifacts, content-addressed: data/artifacts/<sha256>.tar.gz. An
// upload is written to a temp file while it is hashed and counted, and only a
// complete upload whose digest matches what the CLI announced is renamed into
// place: a dropped or tampered upload leaves nothing behind.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, NotFoundError } from '@fleet/protocol';

/** The default upload limit; `fleet controller --max-artifact-size` changes it. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;

const DIGEST = /^[0-9a-f]{64}$/;

export class ArtifactStore {
  readonly dir: string;

  constructor(
    dataDir: string,
    readonly maxBytes = DEFAULT_MAX_ARTIFACT_BYTES,
  ) {
    this.dir = path.join(dataDir, 'artifacts');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Uploads a crashed controller was taking: never complete, never renamed.
    for (const f of fs.readdirSync(this.dir)) if (f.startsWith('.upload-')) fs.rmSync(path.join(this.dir, f), { force: true });
  }

  has(digest: string): boolean {
    return DIGEST.test(digest) && fs.existsSync(this.pathOf(digest));
  }

  pathOf(digest: string): string {
    checkDigest(digest);
    return path.join(this.dir, `${digest}.tar.gz`);
  }

  /** The file of a stored artifact, or a NotFoundError saying how to get it there. */
  fileOf(digest: string): string {
    const file = this.pathOf(digest);
    if (!fs.existsSync(file)) {
      throw new NotFoundError(`artifact ${digest.slice(0, 12)} is not on the controller`, {
        hint: 'deploy again from the app folder: `fleet deploy` uploads it',
      });
    }
    return file;
  }

  checkSize(sizeBytes: number): void {
    if (sizeBytes > this.maxBytes) {
      throw new BadInputError(`the artifact is ${mb(sizeBytes)}, over the controller's limit of ${mb(this.maxBytes)}`, {
        hint: 'leave build output, caches and test data out with a .fleetignore file, or start the controller with a larger --max-artifact-size',
      });
    }
  }

  /** Takes an upload; resolves once it is stored under its digest. */
  async receive(digest: string, sizeBytes: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    checkDigest(digest);
    this.checkSize(sizeBytes);
    if (this.has(digest)) {
      for await (const _ of chunks); // already here: drain and keep the stored copy
      return;
    }
    const tmp = path.join(this.dir, `.upload-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let received = 0;
    const out = fs.openSync(tmp, 'wx', 0o600);
    try {
      for await (const chunk of chunks) {
        received += chunk.length;
        if (received > sizeBytes) {
          throw new BadInputError(`the upload is larger than the ${sizeBytes} bytes it announced`, { hint: 'deploy again; the artifact may have changed while it was read' });
        }
        hash.update(chunk);
        fs.writeSync(out, chunk);
      }
      if (received !== sizeBytes) {
        throw new BadInputError(`the upload ended after ${received} of ${sizeBytes} bytes`, { hint: 'deploy again' });
      }
      const actual = hash.digest('hex');
      if (actual !== digest) {
        throw new BadInputError(`the upload's sha256 is ${actual.slice(0, 12)}…, not the announced ${digest.slice(0, 12)}…`, {
          hint: 'the artifact changed or was damaged in transit: deploy again',
        });
      }
      fs.fsyncSync(out);
      fs.closeSync(out);
      fs.renameSync(tmp, this.pathOf(digest));
    } catch (err) {
      try {
        fs.closeSync(out);
      } catch {
        // already closed
      }
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Removes the artifacts not in `keep` (the recent releases'). */
  prune(keep: ReadonlySet<string>): number {
    let removed = 0;
    for (const f of fs.readdirSync(this.dir)) {
      const m = /^([0-9a-f]{64})\.tar\.gz$/.exec(f);
      if (m && !keep.has(m[1])) {
        fs.rmSync(path.join(this.dir, f), { force: true });
        removed++;
      }
    }
    return removed;
  }
}

function checkDigest(digest: string): void {
  if (!DIGEST.test(digest)) {
    throw new BadInputError(`"${digest}" is not a sha256 digest (64 hex characters)`, { hint: 'the CLI computes it: use `fleet deploy`' });
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
