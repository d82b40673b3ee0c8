// --hosts web1,web2 and --selector role=web,zone=a: parsing (CLI) and
// matching (controller). Pure.
import type { HostSelector } from './gen/fleet/v1/host';
import { BadInputError } from './errors';

export function parseHostList(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** "role=web,zone=a" → { role: 'web', zone: 'a' }. */
export function parseLabels(text: string | undefined, flag = '--selector'): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq).trim() : '';
    const value = eq > 0 ? item.slice(eq + 1).trim() : '';
    if (!key || !/^[A-Za-z0-9_.\/-]+$/.test(key) || !/^[A-Za-z0-9_.\/:-]*$/.test(value)) {
      throw new BadInputError(`${flag} "${item}" is not a key=value label`, {
        hint: `write labels as key=value pairs separated by commas, e.g. ${flag} role=web,zone=a`,
      });
    }
    labels[key] = value;
  }
  return labels;
}

export function selectorOf(hosts?: string, selector?: string): HostSelector | undefined {
  const where = { hosts: parseHostList(hosts), labels: parseLabels(selector) };
  return where.hosts.length === 0 && Object.keys(where.labels).length === 0 ? undefined : where;
}

export function isEmptySelector(where: HostSelector | undefined): boolean {
  return !where || (where.hosts.length === 0 && Object.keys(where.labels).length === 0);
}

export function matchesLabels(labels: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

export function describeSelector(where: HostSelector | undefined): string {
  if (isEmptySelector(where)) return 'every host';
  const parts: string[] = [];
  if (where!.hosts.length > 0) parts.push(`--hosts ${where!.hosts.join(',')}`);
  const labels = Object.entries(where!.labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length > 0) parts.push(`--selector ${labels.join(',')}`);
  return parts.join(' ');
}
