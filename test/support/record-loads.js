// `node --import ./test/support/record-loads.js …`: appends the URL of every module the program
// resolves (ESM imports, and the CommonJS packages those import) to $PROVENANT_TEST_LOADS, one a
// line. The hooks run on the loader thread, so they write to a file rather than to memory.
import { register } from 'node:module';

const file = process.env['PROVENANT_TEST_LOADS'];
if (file) register('./record-loads-hooks.js', import.meta.url, { data: { file } });
