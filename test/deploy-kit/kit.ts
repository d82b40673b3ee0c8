// Shared by the deploy/ kit's tests: reading the kit, the CLI's --help, systemd
// unit and env-file parsing, Dockerfile parsing.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { FLEET_BIN, ROOT } from '../harness';

// `yaml` is a dependency of @fleet/protocol: resolved from there.
export const YAML = createRequire(require.resolve('@fleet/protocol/package.json'))('yaml') as typeof import('yaml');

export const DEPLOY = path.join(ROOT, 'deploy');
export const read = (rel: string): string => fs.readFileSync(path.join(DEPLOY, rel), 'utf8');

export function loud(t: { diagnostic(msg: string): void; skip(msg?: string): void }, msg: string): void {
  process.stderr.write(`\n*** deploy-kit: SKIPPED: ${msg} ***\n\n`);
  t.diagnostic(`SKIPPED: ${msg}`);
  t.skip(msg);
}

export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    const full = path.join(dir, program);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- fleet --help

export const helpCache = new Map<string, { path: string[]; options: Set<string> }>();

/** The command `fleet <words> --help` describes (its path) and the options it takes. */
export function fleetHelp(words: string[]): { path: string[]; options: Set<string> } {
  const key = words.join(' ');
  const cached = helpCache.get(key);
  if (cached) return cached;
  const r = spawnSync(process.execPath, [FLEET_BIN, ...words, '--help'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FLEET_HOME: path.join(os.tmpdir(), 'fleet-deploy-kit-help') },
  });
  const usage = /^Usage: fleet ((?:[a-z][a-z|-]* )*)\[options\]/m.exec(r.stdout);
  assert.ok(r.status === 0 && usage, `fleet ${key} --help failed: ${r.stdout}${r.stderr}`);
  const options = new Set<string>();
  for (const m of r.stdout.matchAll(/^\s+((?:-[a-zA-Z], )?--[a-z][a-z-]*)/gm)) {
    for (const flag of m[1]!.split(', ')) options.add(flag);
  }
  const result = { path: usage[1]!.trim().split(' ').filter(Boolean), options };
  helpCache.set(key, result);
  return result;
}

/** Asserts that `fleet <args>` names a real subcommand and uses only its flags. */
export function assertFleetCommand(args: string[], where: string): void {
  const firstFlag = args.findIndex((a) => a.startsWith('-'));
  const words = firstFlag < 0 ? args : args.slice(0, firstFlag);
  const help = fleetHelp(words);
  // Usage names aliases as ls|list.
  assert.ok(help.path.length > 0 && help.path.every((p, i) => p.split('|').includes(words[i]!)),
    `${where}: \`fleet ${args.join(' ')}\`: no such command (help describes \`fleet ${help.path.join(' ')}\`)`);
  for (const a of args) {
    if (!a.startsWith('-')) continue;
    const flag = a.split('=')[0]!;
    assert.ok(help.options.has(flag), `${where}: \`fleet ${help.path.join(' ')}\` has no ${flag} (fleet ${help.path.join(' ')} --help lists ${[...help.options].join(' ')})`);
  }
}

// ---------------------------------------------------------------- systemd

export type Unit = Map<string, [string, string][]>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      if (!unit.has(section)) unit.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0 && section, `not a unit file line: ${line}`);
    unit.get(section)!.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

export function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

export function one(unit: Unit, section: string, key: string): string | undefined {
  return values(unit, section, key).at(-1);
}

/** Splits a command line as systemd does: whitespace, "double" and 'single' quotes, backslash escapes. */
export function systemdSplit(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let word = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '"' || c === "'") {
        const end = line.indexOf(c, i + 1);
        assert.ok(end > i, `unterminated quote in: ${line}`);
        word += c === '"' ? line.slice(i + 1, end).replace(/\\(.)/g, '$1') : line.slice(i + 1, end);
        i = end + 1;
      } else if (c === '\\' && i + 1 < line.length) {
        word += line[i + 1];
        i += 2;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

/** systemd's expansion: a word `$VAR` becomes the value split on whitespace; `${VAR}` is replaced in place; `$$` is `$`. */
export function systemdExpand(words: string[], env: Record<string, string>): string[] {
  const out: string[] = [];
  for (const w of words) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) {
      out.push(...(env[whole[1]!] ?? '').split(/\s+/).filter(Boolean));
      continue;
    }
    out.push(w.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string | undefined) => (m === '$$' ? '$' : env[name!] ?? '')));
  }
  return out;
}

/** An EnvironmentFile= (KEY=value, KEY="value", comments). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    assert.ok(m, `not an env file line: ${line}`);
    let value = m[2]!.trim();
    if (/^".*"$|^'.*'$/.test(value)) value = value.slice(1, -1);
    env[m[1]!] = value;
  }
  return env;
}

export function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of values(unit, 'Service', 'Environment')) {
    for (const assignment of systemdSplit(line)) {
      const eq = assignment.indexOf('=');
      env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

export const UNITS = ['fleet-controller', 'fleet-agent'] as const;

export interface Instruction {
  op: string;
  args: string;
}

export function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue; // comments, also inside continuations, and the # syntax= directive
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const stages: Instruction[][] = [];
  for (const l of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(l);
    assert.ok(m, `not a Dockerfile instruction: ${l}`);
    const ins = { op: m[1]!.toUpperCase(), args: m[2]! };
    if (ins.op === 'FROM') stages.push([]);
    assert.ok(stages.length > 0, `instruction before FROM: ${l}`);
    stages.at(-1)!.push(ins);
  }
  return stages;
}

export function execForm(args: string, what: string): string[] {
  const json = args.replace(/^CMD\s+/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    assert.fail(`${what} is not in exec form (a JSON array): ${args}`);
  }
  assert.ok(Array.isArray(parsed) && parsed.every((w) => typeof w === 'string'), `${what}: ${args}`);
  return parsed as string[];
}

/** The path of /opt/fleet/<rel> of the image in this checkout. */
export function inRepo(p: string): string {
  return p.startsWith('/opt/fleet/') ? path.join(ROOT, p.slice('/opt/fleet/'.length)) : p;
}

export const DOCKERFILES = { controller: 'docker/Dockerfile.controller', agent: 'docker/Dockerfile.agent' } as const;

export function finalStage(file: string): Instruction[] {
  return parseDockerfile(read(file)).at(-1)!;
}

export function healthcheck(file: string): string[] {
  const hc = finalStage(file).filter((i) => i.op === 'HEALTHCHECK');
  assert.equal(hc.length, 1, `${file}: one HEALTHCHECK in the final stage`);
  const cmd = /(?:^|\s)CMD\s+(.*)$/.exec(hc[0]!.args);
  assert.ok(cmd, `${file}: HEALTHCHECK CMD …`);
  return execForm(cmd[1]!, `${file} HEALTHCHECK`);
}


/** Every value of a flag in a command line. */
export function flagValues(cmd: string[], flag: string): string[] {
  return cmd.flatMap((w, i) => (w === flag ? [cmd[i + 1]!] : []));
}
