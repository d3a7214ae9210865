// Writes the published JSON Schema of provenant.event/v1 from the built package, so the file
// in schemas/ is always generated, never edited. Run after `tsc -b` (the npm script does both).
import { writeFileSync } from 'node:fs';
import { stdout } from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { eventJsonSchema } from '../dist/index.js';

const target = fileURLToPath(new URL('../../../schemas/provenant.event.v1.json', import.meta.url));
writeFileSync(target, JSON.stringify(eventJsonSchema(), null, 2) + '\n');
stdout.write(`wrote ${target}\n`);
