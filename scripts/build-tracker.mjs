#!/usr/bin/env node
// Builds the browser tracker (services/analytics/tracker/src) into services/analytics/public/:
// tracker.js, a classic script that sets `window.bioAnalytics`, and tracker.mjs, an ES module.
// Both minified, no source maps; the analytics service serves them at /tracker.js and /tracker.mjs.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const dir = (p) => fileURLToPath(new URL(`../services/analytics/${p}`, import.meta.url))
const common = {
  bundle: true,
  minify: true,
  // Browsers of the last ~5 years; optional chaining and the like are lowered.
  target: ['es2019', 'chrome80', 'firefox78', 'safari13'],
  legalComments: 'none',
  logLevel: 'warning',
  banner: { js: '/* BIO.RE analytics tracker */' },
}

mkdirSync(dir('public'), { recursive: true })
await Promise.all([
  build({
    ...common,
    entryPoints: [dir('tracker/src/global.ts')],
    outfile: dir('public/tracker.js'),
    format: 'iife',
  }),
  build({
    ...common,
    entryPoints: [dir('tracker/src/tracker.ts')],
    outfile: dir('public/tracker.mjs'),
    format: 'esm',
  }),
])
