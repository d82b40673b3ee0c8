// `fleet monit` running: refreshes the hosts and processes every interval,
// follows the log lines of the selected app (a new stream when the selection
// moves to another app), turns keys into state and draws each change.
//
// A refresh that fails (controller restarting, network gone) keeps the last
// data on screen with the error in the footer, and the next tick tries again;
// so does a log stream that drops. Only the first refresh, before the screen
// opens, fails the command: a wrong context or token is an ordinary error.
import { type ServiceError, status, type ClientReadableStream } from '@grpc/grpc-js';
import { fromServiceError, type HostSelector, type LogLine, LogStream } from '@fleet/protocol';
import type { FleetApi } from '../client';
import { EXIT_OK } from '../exit-codes';
import type { Colors } from '../format/color';
import { renderScreen } from './monit-render';
import {
  applyKey,
  followingLogs,
  initialState,
  type MonitData,
  type MonitState,
  selectedApp,
  withData,
  withError,
  withLogError,
  withLogLine,
} from './monit-state';
import type { Screen } from './tty-screen';

/** Lines per log file asked for when a stream starts: enough to fill the log section at once. */
export const LOG_BACKLOG = 20;
/** Log lines arrive by the hundred per second; the screen is redrawn for them at most this often. */
const LOG_REDRAW_MS = 100;

export type MonitApi = Pick<FleetApi, 'list' | 'hosts' | 'logs'>;

export interface MonitDeps {
  api: MonitApi;
  where?: HostSelector;
  intervalMs: number;
  colors: Colors;
  /** Named in the header: the context, or "local". */
  title: string;
  /** Opened after the first refresh succeeded. */
  openScreen(): Screen;
  /** Registers what else ends the screen (SIGINT, SIGTERM, SIGHUP); returns its removal. */
  onStop(stop: () => void): () => void;
  now?: () => number;
}

export async function fetchData(api: MonitApi, where: HostSelector | undefined, now: number | (() => number)): Promise<MonitData> {
  const [list, hosts] = await Promise.all([api.list({ fresh: false, summary: false, where }), api.hosts({ where })]);
  return { apps: list.apps, hosts: hosts.hosts, atMs: typeof now === 'function' ? now() : now };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runMonit(deps: MonitDeps): Promise<number> {
  const now = deps.now ?? Date.now;
  const first = await fetchData(deps.api, deps.where, now);
  const screen = deps.openScreen();
  let state: MonitState = withData(initialState(), first);

  return new Promise<number>((resolve) => {
    let stopped = false;
    let refreshing = false;
    let drawTimer: NodeJS.Timeout | undefined;
    let logCall: ClientReadableStream<LogLine> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let offStop = (): void => undefined;

    const draw = (): void => {
      if (drawTimer) clearTimeout(drawTimer);
      drawTimer = undefined;
      if (stopped) return;
      const frame = renderScreen(state, { size: screen.size(), colors: deps.colors, now: now(), title: deps.title, intervalMs: deps.intervalMs, keys: screen.keys });
      state = { ...state, top: frame.top, pageSize: frame.pageSize };
      screen.draw(frame.lines);
    };
    const drawSoon = (): void => {
      drawTimer ??= setTimeout(draw, LOG_REDRAW_MS);
    };

    const cancelLogs = (): void => {
      const call = logCall;
      logCall = undefined;
      call?.cancel();
    };
    /** Keeps one stream following the selected app's lines: a new one when the app changed or the last one ended. */
    const syncLogs = (): void => {
      const app = selectedApp(state);
      if (app === state.logApp && (logCall || !app)) return;
      cancelLogs();
      // The same app again (its stream dropped): the lines go, since the new stream repeats them; the error stays until a line comes.
      state = app === state.logApp ? { ...state, logs: [] } : followingLogs(state, app);
      if (!app) return;
      const call = deps.api.logs({ target: app, lines: LOG_BACKLOG, follow: true, where: deps.where, stream: LogStream.LOG_STREAM_UNSPECIFIED, grep: '' });
      logCall = call;
      call.on('data', (line: LogLine) => {
        if (call !== logCall) return;
        state = withLogLine(state, line);
        drawSoon();
      });
      call.on('error', (err: ServiceError) => {
        if (call !== logCall) return;
        logCall = undefined;
        state = withLogError(state, err.code === status.CANCELLED ? 'stream ended' : fromServiceError(err).message);
        drawSoon();
      });
      call.on('end', () => {
        if (call !== logCall) return;
        logCall = undefined;
        state = withLogError(state, 'stream ended');
        drawSoon();
      });
    };

    const refresh = async (): Promise<void> => {
      // A slow controller is not asked again before it answered.
      if (refreshing || stopped) return;
      refreshing = true;
      try {
        const data = await fetchData(deps.api, deps.where, now);
        state = withData(state, data);
      } catch (err) {
        state = withError(state, messageOf(err));
      } finally {
        refreshing = false;
      }
      if (stopped) return;
      syncLogs();
      draw();
    };

    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (drawTimer) clearTimeout(drawTimer);
      cancelLogs();
      offStop();
      screen.close();
      resolve(EXIT_OK);
    };

    screen.onKey((key) => {
      if (key === 'quit') return stop();
      if (key === 'redraw') screen.clear();
      else state = applyKey(state, key);
      syncLogs();
      draw();
    });
    screen.onResize(draw);
    offStop = deps.onStop(stop);
    timer = setInterval(() => void refresh(), deps.intervalMs);
    syncLogs();
    draw();
  });
}
