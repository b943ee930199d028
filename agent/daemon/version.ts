// The version esbuild stamps into the bundle (scripts/build.mjs defines GDO_VERSION), as the CLI reads it.
declare const GDO_VERSION: string | undefined;
export const AGENT_VERSION = typeof GDO_VERSION === 'string' ? GDO_VERSION : '0.0.0-dev';
