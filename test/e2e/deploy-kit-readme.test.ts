// deploy/README.md: every fleet command's subcommand and flags, links.
// Each check skips loudly (never silently) when its tool is absent.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEPLOY, assertFleetCommand, flagValues, parseEnvFile, read } from '../deploy-kit/kit';

function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

describe('deploy/README.md', () => {
  const md = read('README.md');

  test('every fleet command names a real subcommand and only its flags', () => {
    const commands: string[][] = [];
    const lines: string[] = [];
    for (const block of md.matchAll(/```sh\n([\s\S]*?)```/g)) lines.push(...block[1]!.replace(/\\\n\s*/g, ' ').split('\n'));
    for (const span of md.matchAll(/`((?:npx )?fleet [^`]+)`/g)) lines.push(span[1]!);
    for (const line of lines) {
      const code = line.replace(/(^|\s)#.*$/, ''); // comments
      for (const segment of code.split(/&&|\|\||;|\|/)) {
        const words = shellWords(segment.trim());
        const at = words[0] === 'npx' ? 1 : 0;
        if (words[at] !== 'fleet') continue;
        const args: string[] = [];
        for (let i = at + 1; i < words.length; i++) {
          if (/^[<>]/.test(words[i]!)) break; // a redirection ends the arguments
          args.push(words[i]!);
        }
        if (args.length === 0 || args.some((a) => a.includes('…'))) continue;
        commands.push(args);
      }
    }
    assert.ok(commands.length >= 15, `found only ${commands.length} fleet commands in deploy/README.md`);
    for (const args of commands) assertFleetCommand(args, 'deploy/README.md');
  });

  test('its sed commands edit the env files into command lines `fleet --help` accepts', () => {
    const seds = [...md.matchAll(/^sed -i (.+) \/etc\/fleet\/(controller|agent)\.env$/gm)];
    assert.ok(seds.length >= 3, `found ${seds.length} sed commands on the env files`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-readme-sed-'));
    try {
      for (const [line, expr, which] of seds) {
        const file = path.join(dir, `${which}.env`);
        const before = read(`systemd/${which}.env`);
        fs.writeFileSync(file, before);
        const r = spawnSync('bash', ['-c', `sed -i ${expr} "$1"`, 'sed', file], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${line}: ${r.stderr}`);
        const after = fs.readFileSync(file, 'utf8');
        assert.notEqual(after, before, `${line} changes nothing in ${which}.env`);
        const key = which === 'agent' ? 'FLEET_AGENT_ARGS' : 'FLEET_CONTROLLER_ARGS';
        const args = parseEnvFile(after)[key]!.split(/\s+/);
        assertFleetCommand([which!, ...args], `deploy/README.md: ${line}`);
        if (expr!.includes('--name')) assert.deepEqual(flagValues(args, '--name'), ['web2'], `${line}: web2's agent.env`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every link resolves', () => {
    const slugs = new Set([...md.matchAll(/^#+\s+(.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\w\s-]/g, '').replace(/\s/g, '-')));
    for (const m of md.matchAll(/\]\(([^)]+)\)/g)) {
      const target = m[1]!;
      if (/^https?:/.test(target)) continue;
      if (target.startsWith('#')) {
        assert.ok(slugs.has(target.slice(1)), `deploy/README.md: no heading for ${target}`);
        continue;
      }
      assert.ok(fs.existsSync(path.join(DEPLOY, target.split('#')[0]!)), `deploy/README.md links to ${target}, which does not exist`);
    }
  });
});

