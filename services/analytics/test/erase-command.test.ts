import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildServices, WORKSPACE_ROOT } from '@bio/service-kit/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { rowsHolding, seedVisits } from './erasure-helper.js'
import {
  expectedVisitorHash,
  TEST_SECRET,
  TRACKING_SECRET,
  useAnalyticsHarness,
  VISITOR_SECRET,
} from './helper.js'

beforeAll(() => buildServices())
const h = useAnalyticsHarness()

const SECRETS = {
  JWT_SECRET: TEST_SECRET,
  TRACKING_HMAC_SECRET: TRACKING_SECRET,
  VISITOR_HASH_SECRET: VISITOR_SECRET,
}

/** The built command (what `npm run analytics:erase --` runs after building), with exactly `env`. */
function erase(args: string[], env: Record<string, string>) {
  const res = spawnSync(process.execPath, ['services/analytics/dist/erase-command.js', ...args], {
    cwd: WORKSPACE_ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'silent', ...SECRETS, ...env },
    encoding: 'utf8',
  })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr }
}

describe('npm run analytics:erase (the built erase-command)', () => {
  it('--user erases on ANALYTICS_DATABASE_URL and prints the counts', async () => {
    const user = '8b9c0d1e-0000-4000-8000-00000000c001'
    await seedVisits(h.app, { userId: user, visitorId: 'v-cli-1', sessions: 2, views: 2 })
    const res = erase(['--user', user], { ANALYTICS_DATABASE_URL: h.testDb.url })
    expect(res.status, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual({ erased: 'user', sessions: 2, pageviews: 4 })
    expect(await rowsHolding(h, user)).toEqual([])
  })

  it('--visitor forgets on ANALYTICS_DATABASE_URL, never printing the visitor id', async () => {
    const visitorId = 'v-cli-secret-visitor'
    await seedVisits(h.app, { visitorId, views: 3 })
    const res = erase(['--visitor', visitorId], { ANALYTICS_DATABASE_URL: h.testDb.url })
    expect(res.status, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual({ erased: 'visitor', sessions: 1, pageviews: 3, detached: 0 })
    expect(res.stdout + res.stderr).not.toContain(visitorId)
    expect(await rowsHolding(h, expectedVisitorHash(visitorId))).toEqual([])
  })

  it('runs on the embedded PGlite by default (migrating it first)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erase-cli-'))
    try {
      const res = erase(['--user', '8b9c0d1e-0000-4000-8000-00000000c002'], { DATA_DIR: dir })
      expect(res.status, res.stderr).toBe(0)
      expect(JSON.parse(res.stdout)).toEqual({ erased: 'user', sessions: 0, pageviews: 0 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('bad arguments: a usage error on stderr and exit 2, nothing run', () => {
    const cases = [
      [],
      ['--user'],
      ['--user', 'not-a-uuid'],
      ['--visitor', ''],
      ['--visitor', 'x'.repeat(129)],
      ['--user', '8b9c0d1e-0000-4000-8000-00000000c003', '--visitor', 'v'],
      ['--everyone'],
      ['stray'],
    ]
    for (const args of cases) {
      const res = erase(args, { ANALYTICS_DATABASE_URL: 'postgres://127.0.0.1:1/none' })
      expect(res.status, args.join(' ')).toBe(2)
      expect(res.stderr).toContain('usage: npm run analytics:erase')
      expect(res.stdout).toBe('')
    }
  })

  it('a configuration error exits 1 with the message', () => {
    const res = erase(['--user', '8b9c0d1e-0000-4000-8000-00000000c004'], { VISITOR_HASH_SECRET: 'short' })
    expect(res.status).toBe(1)
    expect(res.stderr).toContain('VISITOR_HASH_SECRET')
  })
})
