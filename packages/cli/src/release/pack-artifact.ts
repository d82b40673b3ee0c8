// Packs an app folder into the release artifact `fleet deploy` uploads: a gzip
// tar whose bytes depend only on the tree. Entries are sorted, carry a fixed
// mtime and no owner (tar's `portable`), so the same tree always gives the same
// sha256 and the controller, which deduplicates uploads by digest, stores it once.
//
// What goes in: everything under the folder except what the root `.fleetignore`
// (or, when there is none, the root `.gitignore`) excludes, `.git`, and
// `node_modules` unless asked for. Symlinks go in as symlinks; one pointing
// outside the folder is refused here, because the agent would refuse it anyway,
// after the upload.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import * as tar from 'tar';
import { BadInputError } from '@fleet/protocol';

export interface PackOptions {
  /** Pack `node_modules` folders too (ignore-file rules still apply). @default false */
  includeNodeModules?: boolean;
  /** Where to write the .tar.gz. */
  outFile: string;
}

export interface PackedArtifact {
  file: string;
  /** sha256 (hex) of the .tar.gz bytes. */
  digest: string;
  sizeBytes: number;
  /** Regular files packed: relative, posix separators, sorted. */
  files: string[];
  /** The ignore file whose rules applied; undefined when the folder has neither. */
  ignoreFile?: IgnoreFile;
}

export type IgnoreFile = '.fleetignore' | '.gitignore';

/** Every entry gets this mtime, so packing is reproducible. */
const ARTIFACT_MTIME = new Date('2000-01-01T00:00:00Z');

export async function packArtifact(dir: string, opts: PackOptions): Promise<PackedArtifact> {
  const root = path.resolve(dir);
  assertFolder(root);
  const outFile = path.resolve(opts.outFile);

  const rules = loadIgnoreRules(root);
  const listing = await listTree(root, {
    matcher: rules.matcher,
    includeNodeModules: opts.includeNodeModules === true,
    // An earlier artifact written inside the folder must not pack itself.
    skip: outFile,
  });
  if (listing.entries.length === 0) {
    throw new BadInputError(`nothing to pack: every path in ${root} is ignored`, {
      hint: 'check the patterns in .fleetignore (or .gitignore)',
    });
  }

  try {
    await tar.c(
      {
        file: outFile,
        cwd: root,
        gzip: true,
        portable: true,
        mtime: ARTIFACT_MTIME,
        // The listing already holds every directory and file, in order.
        noDirRecurse: true,
        follow: false,
      },
      listing.entries,
    );
  } catch (err) {
    fs.rmSync(outFile, { force: true });
    throw err;
  }

  const sizeBytes = fs.statSync(outFile).size;
  return { file: outFile, digest: await sha256(outFile), sizeBytes, files: listing.files, ignoreFile: rules.file };
}

function assertFolder(root: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new BadInputError(`the folder to deploy does not exist: ${root}`, { hint: 'pass the folder that holds the app' });
  }
  if (!stat.isDirectory()) {
    throw new BadInputError(`the path to deploy is not a folder: ${root}`, { hint: 'pass the folder that holds the app, not a file in it' });
  }
}

/** `.fleetignore` replaces `.gitignore`, it does not add to it: what git skips is not always what a deploy skips. */
function loadIgnoreRules(root: string): { matcher: Ignore; file?: IgnoreFile } {
  const matcher = ignore();
  for (const name of ['.fleetignore', '.gitignore'] as const) {
    const file = path.join(root, name);
    if (fs.existsSync(file)) return { matcher: matcher.add(fs.readFileSync(file, 'utf8')), file: name };
  }
  return { matcher };
}

interface ListOptions {
  matcher: Ignore;
  includeNodeModules: boolean;
  skip: string;
}

interface Listing {
  /** Directories, files and symlinks to pack, sorted. */
  entries: string[];
  files: string[];
}

async function listTree(root: string, opts: ListOptions): Promise<Listing> {
  const entries: string[] = [];
  const files: string[] = [];

  const visit = async (relDir: string): Promise<void> => {
    const dirents = await fs.promises.readdir(path.join(root, relDir), { withFileTypes: true });
    // Code-unit order, not locale order: the same on every laptop.
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of dirents) {
      const rel = relDir === '' ? d.name : `${relDir}/${d.name}`;
      const abs = path.join(root, rel);
      if (abs === opts.skip) continue;
      if (d.isDirectory()) {
        if (d.name === '.git') continue;
        if (d.name === 'node_modules' && !opts.includeNodeModules) continue;
        if (opts.matcher.ignores(`${rel}/`)) continue;
        entries.push(rel);
        await visit(rel);
      } else if (d.isFile()) {
        // `.git` is a file in a worktree or a submodule.
        if (d.name === '.git' || opts.matcher.ignores(rel)) continue;
        entries.push(rel);
        files.push(rel);
      } else if (d.isSymbolicLink()) {
        if (opts.matcher.ignores(rel)) continue;
        assertLinkInside(rel, await fs.promises.readlink(abs));
        entries.push(rel);
      }
      // Sockets, fifos and devices are not part of an app: skipped.
    }
  };

  await visit('');
  return { entries, files };
}

function assertLinkInside(rel: string, target: string): void {
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target.split(path.sep).join('/')));
  if (path.isAbsolute(target) || resolved === '..' || resolved.startsWith('../')) {
    throw new BadInputError(`the folder has a symlink that points outside it: "${rel}" -> "${target}"`, {
      hint: 'the host refuses such links: copy the target into the folder, or add the link to .fleetignore',
    });
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
