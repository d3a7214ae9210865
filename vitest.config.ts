import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources, not from dist: each package's
// `@provenant/source` export condition points into `src`. Vitest runs tests in Vite's server-side
// environment, whose conditions are `ssr.resolve.conditions` (`resolve.conditions` reaches only
// the browser environment), followed here by Vitest's own defaults for it (Vite's without
// `module`, so dependencies resolve to the builds Node runs). Tests that spawn real processes
// (`provenant serve`, the CLI) still run the built `dist`, which `npm test` builds first.
const conditions = ['@provenant/source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions: ['@provenant/source'] },
  ssr: { resolve: { conditions } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
