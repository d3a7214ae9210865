/** See evidence-bundle.js. */
export function writeEvidenceBundle(dir: string): Promise<{ file: string; key: string }>;
