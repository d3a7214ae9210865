import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64Strict, toBase64 } from '@provenant/core';
import type { WitnessLogState, WitnessStateStore } from '@provenant/ledger';

export const WITNESS_STATE_FILE = 'witness-state.json';

interface FileShape {
  readonly version: 1;
  readonly logs: Record<string, { size: number; root: string; note: string }>;
}

/**
 * The witness's state in one JSON file (`witness-state.json` in its data folder): the latest
 * cosigned checkpoint per origin. Every change is written to a temporary file, fsynced and
 * renamed over the old one before the cosignature is returned, so a crash never loses a
 * checkpoint the witness cosigned. Compare-and-swap is synchronous in this process: one witness
 * process owns its folder.
 */
export class FileWitnessStore implements WitnessStateStore {
  readonly file: string;
  private readonly states = new Map<string, WitnessLogState>();

  constructor(dataDir: string) {
    this.file = join(dataDir, WITNESS_STATE_FILE);
    let text: string | undefined;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      const json = JSON.parse(text) as FileShape;
      if (json.version !== 1 || typeof json.logs !== 'object') {
        throw new Error(`${this.file} is not a witness state file.`);
      }
      for (const [origin, s] of Object.entries(json.logs)) {
        this.states.set(origin, { size: s.size, rootHash: fromBase64Strict(s.root), note: s.note });
      }
    }
  }

  get(origin: string): Promise<WitnessLogState | undefined> {
    return Promise.resolve(this.states.get(origin));
  }

  compareAndSwap(origin: string, expectedSize: number, next: WitnessLogState): Promise<boolean> {
    const current = this.states.get(origin)?.size ?? 0;
    if (current !== expectedSize) return Promise.resolve(false);
    const previous = this.states.get(origin);
    this.states.set(origin, next);
    try {
      this.persist();
    } catch (e) {
      if (previous) this.states.set(origin, previous);
      else this.states.delete(origin);
      return Promise.reject(e as Error);
    }
    return Promise.resolve(true);
  }

  private persist(): void {
    const logs: FileShape['logs'] = {};
    for (const [origin, s] of this.states) {
      logs[origin] = { size: s.size, root: toBase64(s.rootHash), note: s.note };
    }
    const body: FileShape = { version: 1, logs };
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}
