// The bundle's entry point: scripts/build.mjs builds dist/gdo.js (the image's /opt/gdo/gdo.js) from this
// file. It notes its own path before the CLI loads, so code in chunks can start gdo again (entry-file.ts);
// the CLI itself, loaded after that, runs as agent/cli/main.ts does from the sources.
import { fileURLToPath } from 'node:url';
import { setEntryFile } from './entry-file.ts';

setEntryFile(fileURLToPath(import.meta.url));
await import('./main.ts');
