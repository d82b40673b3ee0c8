// Env values are where secrets live (DATABASE_URL, API keys). Output that a
// person might paste into a ticket shows the keys only.
export const MASK = '****';

export function maskEnv(env: Record<string, string> | undefined): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const key of Object.keys(env ?? {}).sort()) masked[key] = MASK;
  return masked;
}
