// Read once from the package manifest so every component reports the same version.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const manifest = require('../../package.json') as { version: string };

export const FLEET_VERSION: string = manifest.version;
