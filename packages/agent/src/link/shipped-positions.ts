// How far into each log file the controller has confirmed receipt, kept in
// FLEET_HOME/run/log-shipped.json. A restarted agent resumes each file there,
// so lines written while it was down still reach the controller (and a line
// sent but unconfirmed when it died is sent again rather than lost).
import { type LogLine, readJsonFile, writeFileAtomic } from '@fleet/protocol';
import type { FilePosition } from '../logs/log-tail';
import type { LineMark } from '../daemon/log-stream';

interface StoredFile {
  version: 1;
  files: Record<string, FilePosition>;
}

export class ShippedPositions {
  private readonly acked = new Map<string, FilePosition>();
  /** Files not yet resumed since start: each is resumed once, later follows start at the end. */
  private readonly resumable: Map<string, FilePosition>;
  private readonly marks = new WeakMap<LogLine, LineMark>();
  private dirty = false;

  constructor(private readonly file: string) {
    let stored: StoredFile | undefined;
    try {
      stored = readJsonFile<StoredFile>(file);
    } catch {
      stored = undefined; // damaged: start from the ends, as a first start would
    }
    this.resumable = new Map(stored?.version === 1 ? Object.entries(stored.files) : []);
    for (const [path, at] of this.resumable) this.acked.set(path, at);
  }

  resumeFor(path: string): FilePosition | undefined {
    const at = this.resumable.get(path);
    this.resumable.delete(path);
    return at;
  }

  mark(line: LogLine, mark: LineMark): void {
    this.marks.set(line, mark);
  }

  /** The controller has these lines. */
  confirm(lines: LogLine[]): void {
    for (const line of lines) {
      const m = this.marks.get(line);
      if (!m) continue;
      const prev = this.acked.get(m.path);
      if (prev && prev.ino === m.ino && prev.pos >= m.pos) continue;
      this.acked.set(m.path, { ino: m.ino, pos: m.pos });
      this.dirty = true;
    }
  }

  save(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const stored: StoredFile = { version: 1, files: Object.fromEntries(this.acked) };
    try {
      writeFileAtomic(this.file, JSON.stringify(stored));
    } catch {
      this.dirty = true; // next time
    }
  }
}
