import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: [
      'shared/*/test/**/*.test.ts',
      'services/*/test/**/*.test.ts',
      'scripts/test/**/*.test.ts',
      // The browser suite (Chromium); its tests and hooks set their own, longer timeouts.
      'scripts/e2e/**/*.test.ts',
    ],
    // Limits that catch a hang, not a speed test: a file's hooks create its database, migrate it
    // or start PGlite (WebAssembly compile + initdb), which takes seconds on a loaded machine.
    testTimeout: 20_000,
    hookTimeout: 120_000,
    pool: 'forks',
    sequence: { shuffle: true },
  },
})
