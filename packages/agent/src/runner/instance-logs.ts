// Routes an instance's stdout/stderr into its log files: split into lines,
// formatted (timestamps / JSON), written by rotating files. Files are shared
// between instances when logs are merged, so they live in one pool per runner.
import { LineDecoder, type AppSpec } from '@fleet/protocol/runner';
import { createLineFormatter } from '../logs/line-formatter';
import { RotatingLogFile } from '../logs/log-file';
import { DISCARD_PATH, logFilesFor, usesPerInstanceFiles } from '../logs/log-paths';

export class LogFilePool {
  private readonly files = new Map<string, RotatingLogFile>();

  get(path: string, spec: AppSpec): RotatingLogFile {
    let file = this.files.get(path);
    if (!file) {
      const log = spec.log!;
      file = new RotatingLogFile(path, {
        maxSizeBytes: log.maxSizeBytes,
        retain: log.retain,
        compress: log.compress,
      });
      this.files.set(path, file);
    }
    return file;
  }

  reopenAll(): void {
    for (const file of this.files.values()) file.reopen();
  }

  flushAll(): void {
    for (const file of this.files.values()) file.flush();
  }

  async closeAll(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map((f) => f.close()));
  }
}

/** Returns a sink for one stream of one instance; call it with null at end of stream. */
export function logSink(
  pool: LogFilePool,
  spec: AppSpec,
  instance: number,
  stream: 'out' | 'err',
): (chunk: Buffer | null) => void {
  const log = spec.log!;
  const paths = logFilesFor(log, instance, usesPerInstanceFiles(spec.execMode, spec.instances));
  const target = stream === 'out' ? paths.out : paths.err;
  if (target === DISCARD_PATH) return () => {};
  const file = pool.get(target, spec);
  const format = createLineFormatter({
    dateFormat: log.dateFormat,
    json: log.json,
    app: spec.name,
    instance,
    stream,
  });
  const decoder = new LineDecoder();
  // `null` marks the end of the stream: write what is left of a last line.
  return (chunk) => {
    if (chunk === null) {
      const rest = decoder.end();
      if (rest !== undefined) file.write(format(rest));
      return;
    }
    const lines = decoder.push(chunk.toString('utf8'));
    if (lines.length === 0) return;
    let out = '';
    for (const line of lines) out += format(line);
    file.write(out);
  };
}
