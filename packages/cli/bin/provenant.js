#!/usr/bin/env node
// The bin npm links is this committed file, not the build output: npm links bins before the
// `prepare` script builds dist/, and a bin whose target is missing is not linked, which sent
// `npx provenant` to the public registry's unrelated package of that name.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin/provenant.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'provenant: the CLI is not built yet; run `npm run build` in the repository\n',
  );
  process.exit(3);
}
await import(entry.href);
