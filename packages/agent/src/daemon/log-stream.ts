// `fleet logs`: the last lines of each of an app's log files, then (with
// follow) every new line, across rotations. Reads the files the runner writes,
// so it works the same whether or not the runner is busy.
import { type AppSpec, type LogLine, LogStream } from '@fleet/protocol';
import { allLogFiles, type LogStreamName, usesPerInstanceFiles } from '../logs/log-paths';
import { type FilePosition, followFile, readLastLines, type FollowHandle } from '../logs/log-tail';

export interface LogStreamRequest {
  specs: AppSpec[];
  lines: number;
  follow: boolean;
  stream: LogStream;
  host: string;
  /** Follow: where to resume each file (by path), instead of its end. */
  resume?: (path: string) => FilePosition | undefined;
}

/** A followed line's place in its file, for a reader that resumes after a restart. */
export interface LineMark extends FilePosition {
  path: string;
}

export interface LogStreamHandle {
  close(): void;
}

interface Source {
  app: string;
  instance: number;
  stream: LogStreamName;
  path: string;
}

function sourcesOf(specs: AppSpec[], wanted: LogStream): Source[] {
  const out: Source[] = [];
  for (const spec of specs) {
    if (!spec.log) continue;
    const refs = allLogFiles(spec.log, spec.instances, usesPerInstanceFiles(spec.execMode, spec.instances));
    for (const ref of refs) {
      // A file shared by both streams is reported as out.
      const stream: LogStreamName = ref.streams.includes('out') ? 'out' : 'err';
      if (wanted === LogStream.LOG_STREAM_OUT && !ref.streams.includes('out')) continue;
      if (wanted === LogStream.LOG_STREAM_ERR && !ref.streams.includes('err')) continue;
      out.push({ app: spec.name, instance: ref.instance ?? 0, stream, path: ref.path });
    }
  }
  return out;
}

export async function streamLogs(
  req: LogStreamRequest,
  emit: (line: LogLine, mark?: LineMark) => void,
): Promise<LogStreamHandle> {
  const sources = sourcesOf(req.specs, req.stream);
  const toLine = (src: Source, line: string): LogLine => ({
    app: src.app,
    instance: src.instance,
    stream: src.stream === 'out' ? LogStream.LOG_STREAM_OUT : LogStream.LOG_STREAM_ERR,
    line,
    timeMs: Date.now(),
    host: req.host,
    dropped: 0,
  });
  if (req.follow) {
    // backlog + follow in one reader: no line written in between is lost or repeated.
    const handles: FollowHandle[] = sources.map((src) =>
      followFile(src.path, (lines, at) => {
        // The delivery's end rides on its last line: a resume never starts mid-line, at worst it repeats a few.
        const mark = at && { path: src.path, ...at };
        for (let i = 0; i < lines.length; i++) emit(toLine(src, lines[i]), i === lines.length - 1 ? mark : undefined);
      }, { fromEnd: true, backlog: Math.max(0, req.lines), startAt: req.resume?.(src.path) }),
    );
    return { close: () => handles.forEach((h) => h.close()) };
  }
  if (req.lines > 0) {
    for (const src of sources) {
      const lines = await readLastLines(src.path, req.lines).catch(() => [] as string[]);
      for (const line of lines) emit(toLine(src, line));
    }
  }
  return { close: () => {} };
}
