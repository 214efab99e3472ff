import { readFileSync } from 'node:fs'
import { CommonEnv } from '@bio/service-kit'
import { describe, expect, it } from 'vitest'
import { AnalyticsEnv } from '../../services/analytics/src/config.js'
import { AuthEnv } from '../../services/auth/src/config.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8')

describe('the README stays true', () => {
  const variables = [
    ...new Set([
      ...Object.keys(CommonEnv.properties),
      ...Object.keys(AuthEnv.properties),
      ...Object.keys(AnalyticsEnv.properties),
    ]),
  ]
  it.each(variables)('documents %s', (name) => {
    expect(readme).toContain(`\`${name}\``)
  })

  it('gives the two commands, and they are the package scripts CI runs', () => {
    expect(readme).toContain('npm start')
    expect(readme).toContain('npm test')
    expect(pkg.scripts.start).toMatch(/scripts\/run\.mjs start$/)
    expect(pkg.scripts.test).toMatch(/scripts\/run\.mjs test$/)
    expect(ci).toMatch(/^npm test$/m)
  })
})
