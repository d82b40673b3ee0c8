// An AppSpec as JSON with every field present. AppSpec.toJSON (proto3 JSON)
// leaves out false, 0 and empty values, so `autorestart: false` would vanish
// from `config check --json`, the one output meant to show every default.
// Same field names and enum strings as toJSON.
import { AppSpec } from '@fleet/protocol';

export function specJson(spec: AppSpec): Record<string, unknown> {
  const full = AppSpec.fromPartial(spec);
  return { ...full, env: { ...full.env } } as unknown as Record<string, unknown>;
}
