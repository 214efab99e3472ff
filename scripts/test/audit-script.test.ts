import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

/**
 * scripts/audit.mjs, the CI dependency-audit step, against a stand-in `pnpm` on PATH (this machine
 * cannot reach the registry's audit endpoint): clean → pass; a high or critical advisory → fail,
 * naming it; endpoint unreachable → a loud banner, pass (fail with AUDIT_REQUIRED=1).
 */

const script = fileURLToPath(new URL('../audit.mjs', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function runWith(
  audit: { stdout?: string; stderr?: string; code: number },
  env: Record<string, string> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-pnpm-'))
  dirs.push(dir)
  writeFileSync(join(dir, 'stdout'), audit.stdout ?? '')
  writeFileSync(join(dir, 'stderr'), audit.stderr ?? '')
  const fake = join(dir, 'pnpm')
  writeFileSync(
    fake,
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo 12.4.2; exit 0; fi\ncat "${dir}/stdout"\ncat "${dir}/stderr" >&2\nexit ${audit.code}\n`,
  )
  chmodSync(fake, 0o755)
  const res = spawnSync(process.execPath, [script], {
    encoding: 'utf8',
    env: { PATH: `${dir}:${process.env.PATH}`, ...env },
  })
  return { code: res.status, output: `${res.stdout}${res.stderr}` }
}

const report = (vulnerabilities: Record<string, number>, advisories: Record<string, unknown> = {}) =>
  JSON.stringify({ advisories, metadata: { vulnerabilities } })

describe('scripts/audit.mjs', () => {
  it('passes when there is no high or critical advisory', () => {
    const res = runWith({ stdout: report({ info: 0, low: 2, moderate: 1, high: 0, critical: 0 }), code: 0 })
    expect(res.code).toBe(0)
    expect(res.output).toMatch(/no high or critical advisories/)
  })

  it('fails on a high advisory and names it', () => {
    const res = runWith({
      stdout: report(
        { info: 0, low: 0, moderate: 0, high: 1, critical: 0 },
        {
          1: {
            module_name: 'left-pad',
            severity: 'high',
            vulnerable_versions: '<1.3.1',
            patched_versions: '>=1.3.1',
            title: 'Prototype pollution',
            url: 'https://example.invalid/advisory/1',
            findings: [{ paths: ['services/auth>left-pad'] }],
          },
        },
      ),
      code: 1,
    })
    expect(res.code).toBe(1)
    expect(res.output).toContain('left-pad')
    expect(res.output).toContain('>=1.3.1')
  })

  it('reports an unreachable audit endpoint clearly, and passes unless AUDIT_REQUIRED=1', () => {
    const refused = {
      stderr:
        'Error: ERR_PNPM_AUDIT_BAD_RESPONSE\n  The audit endpoint (at https://registry.npmjs.org/-/npm/v1/security/advisories/bulk) responded with 405:\n',
      code: 1,
    }
    const lenient = runWith(refused)
    expect(lenient.code).toBe(0)
    expect(lenient.output).toMatch(/DEPENDENCY AUDIT NOT RUN.*responded with 405/)
    expect(runWith(refused, { AUDIT_REQUIRED: '1' }).code).toBe(1)
  })

  it('fails on any other error', () => {
    const res = runWith({ stderr: 'ERR_PNPM_LOCKFILE_BREAKING_CHANGE something else', code: 1 })
    expect(res.code).toBe(1)
    expect(res.output).toMatch(/dependency audit failed/)
  })
})
