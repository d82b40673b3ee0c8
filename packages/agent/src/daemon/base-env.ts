// The environment every app starts from, under its config's env. Apps get the
// env of their config, not of whatever shell happened to start the daemon
// (the first `fleet start` spawns it): only what a process needs to run at all
// passes through. `--update-env` is how a user hands a shell's env to an app.
const PASSED = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'FLEET_HOME', 'FLEET_TRACE']);

export function baseEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && (PASSED.has(key) || key.startsWith('LC_'))) out[key] = value;
  }
  return out;
}
