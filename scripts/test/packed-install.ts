import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WORKSPACE_ROOT } from '@bio/service-kit/testing'

const PNPM = ['-y', 'pnpm@12.4.2']

/**
 * Installs workspace packages the way a project outside this workspace gets them: each is
 * `pnpm pack`ed (its built dist, README and manifest, `workspace:` versions replaced), then an
 * empty temporary folder depends on the tarballs (and on `registry`, exact versions) and installs
 * offline from the pnpm store. A packed package's dependency on another packed one resolves to
 * that one's tarball too (an override), never to a registry. Returns the folder.
 */
export function installPacked(
  name: string,
  packages: readonly string[],
  registry: Record<string, string> = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`))
  const tarballs: Record<string, string> = {}
  for (const pkg of packages) {
    const before = new Set(readdirSync(dir))
    execFileSync('npx', [...PNPM, 'pack', '--pack-destination', dir], {
      cwd: join(WORKSPACE_ROOT, pkg),
      stdio: 'pipe',
    })
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz') && !before.has(f))!
    const manifest = JSON.parse(readFileSync(join(WORKSPACE_ROOT, pkg, 'package.json'), 'utf8'))
    tarballs[manifest.name as string] = `file:./${tarball}`
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, private: true, type: 'module', dependencies: { ...tarballs, ...registry } }),
  )
  const overrides = Object.entries(tarballs).map(([pkg, spec]) => `  "${pkg}": "${spec}"\n`)
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), `overrides:\n${overrides.join('')}`)
  // Offline when the pnpm store has everything (it does after the workspace install).
  execFileSync('npx', [...PNPM, 'install', '--offline'], { cwd: dir, stdio: 'pipe' })
  return dir
}
