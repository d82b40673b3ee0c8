// Colour only for a person at a terminal: never in pipes, files or --json, and
// never when NO_COLOR is set (https://no-color.org: present and not empty).

export interface Colors {
  readonly enabled: boolean;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  gray(s: string): string;
  bold(s: string): string;
}

export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

function sgr(open: number, close: number, enabled: boolean): (s: string) => string {
  return enabled ? (s) => `\u001b[${open}m${s}\u001b[${close}m` : (s) => s;
}

export function makeColors(enabled: boolean): Colors {
  return {
    enabled,
    green: sgr(32, 39, enabled),
    red: sgr(31, 39, enabled),
    yellow: sgr(33, 39, enabled),
    cyan: sgr(36, 39, enabled),
    gray: sgr(90, 39, enabled),
    bold: sgr(1, 22, enabled),
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** The width a string takes on screen: escape codes take none. */
export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}
