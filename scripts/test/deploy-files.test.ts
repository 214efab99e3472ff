import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { AnalyticsEnv, loadAnalyticsConfig } from '../../services/analytics/src/config.js'
import { AuthEnv, loadAuthConfig } from '../../services/auth/src/config.js'

/**
 * docker-compose.yml and services/*\/Dockerfile, checked statically (Docker does not run here):
 * compose's services are health-gated and give each service every variable its config requires;
 * the images are multi-stage, run as a non-root user, carry production dependencies only and a
 * HEALTHCHECK, and can actually install (everything pnpm needs is copied first).
 */

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (path: string) => readFileSync(join(root, path), 'utf8')

interface ComposeService {
  image?: string
  build?: { context: string; dockerfile: string }
  environment?: Record<string, string | number | boolean>
  healthcheck?: { test: string[] | string }
  depends_on?: Record<string, { condition?: string }> | string[]
  ports?: string[]
  volumes?: string[]
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>
}
const SERVICES = {
  auth: { port: 3001, load: loadAuthConfig, schema: AuthEnv },
  analytics: { port: 3002, load: loadAnalyticsConfig, schema: AnalyticsEnv },
}
type Service = keyof typeof SERVICES
/** The workspace's own packages under shared/ (contracts, token verifier, service kit). */
const SHARED_PACKAGES = (parse(read('pnpm-workspace.yaml')) as { packages: string[] }).packages.filter((p) =>
  p.startsWith('shared/'),
)

/** `${VAR:?message}` must be given (a secret: use a placeholder), `${VAR:-default}` falls back. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::([?-])([^}]*))?\}/g, (_m, name: string, op?: string, rest?: string) => {
    if (op === '?') return `placeholder-${name.toLowerCase()}-`.padEnd(48, 'x')
    if (op === '-') return rest ?? ''
    throw new Error(`\${${name}} has neither a default nor a required marker`)
  })
}

const envOf = (service: Service) =>
  Object.fromEntries(
    Object.entries(compose.services[service]!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
  )

/** Variables the config schema requires: no default and not optional (TypeBox marks those). */
const required = (schema: { properties: Record<string, unknown> }) =>
  Object.entries(schema.properties)
    .filter(([, s]) => {
      const prop = s as { default?: unknown } & Record<symbol, unknown>
      return prop.default === undefined && prop[Symbol.for('TypeBox.Optional')] === undefined
    })
    .map(([name]) => name)

describe('docker-compose.yml', () => {
  it('every service has a healthcheck or waits on its dependencies being healthy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const gated =
        service.depends_on !== undefined &&
        !Array.isArray(service.depends_on) &&
        Object.values(service.depends_on).every((d) => d.condition === 'service_healthy')
      expect(service.healthcheck !== undefined || gated, name).toBe(true)
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(compose.services[dependency]?.healthcheck, `${name} waits on ${dependency}`).toBeDefined()
      }
    }
  })

  it.each(Object.keys(SERVICES) as Service[])(
    '%s: its config loads from the compose environment alone',
    (name) => {
      const { load, schema, port } = SERVICES[name]
      const env = envOf(name)
      for (const variable of required(schema)) expect(env, variable).toHaveProperty(variable)
      const config = load(env)
      expect(config.env).toBe('production')
      expect(config.http.host).toBe('0.0.0.0')
      expect(config.http.port).toBe(port)
      // A real database (not the embedded one, whose data would live in the container) on the compose network.
      const db = new URL(config.db.url!)
      expect(compose.services).toHaveProperty(db.hostname)
      // Rate limits shared by every instance, through the compose Redis.
      expect(config.http.redisUrl).toBeDefined()
      expect(compose.services).toHaveProperty(new URL(config.http.redisUrl!).hostname)
      expect(compose.services[name]!.ports).toContain(`${port}:${port}`)
      expect(existsSync(join(root, compose.services[name]!.build!.dockerfile))).toBe(true)
    },
  )

  it('secrets are required from the environment, never committed defaults; both services share JWT_SECRET', () => {
    const raw = (service: Service) => compose.services[service]!.environment ?? {}
    for (const service of Object.keys(SERVICES) as Service[]) {
      expect(String(raw(service).JWT_SECRET)).toMatch(/^\$\{JWT_SECRET:\?/)
    }
    expect(String(raw('auth').LOGIN_THROTTLE_SECRET)).toMatch(/^\$\{LOGIN_THROTTLE_SECRET:\?/)
    expect(String(raw('analytics').TRACKING_HMAC_SECRET)).toMatch(/^\$\{TRACKING_HMAC_SECRET:\?/)
    expect(String(raw('analytics').VISITOR_HASH_SECRET)).toMatch(/^\$\{VISITOR_HASH_SECRET:\?/)
    expect(raw('auth').JWT_SECRET).toBe(raw('analytics').JWT_SECRET)
  })

  it('each service gets its own database, and the init script creates the one POSTGRES_DB does not', () => {
    const pg = compose.services.postgres!
    const auth = new URL(envOf('auth').AUTH_DATABASE_URL!).pathname.slice(1)
    const analytics = new URL(envOf('analytics').ANALYTICS_DATABASE_URL!).pathname.slice(1)
    expect(auth).not.toBe(analytics)
    const created = [String(pg.environment?.POSTGRES_DB)]
    for (const volume of pg.volumes ?? []) {
      const [source, target] = volume.split(':')
      if (!target?.startsWith('/docker-entrypoint-initdb.d/')) continue
      const script = read(source!.replace(/^\.\//, ''))
      created.push(...[...script.matchAll(/create database (\w+)/gi)].map((m) => m[1]!))
    }
    expect(created).toEqual(expect.arrayContaining([auth, analytics]))
  })
})

interface Stage {
  name: string | undefined
  lines: string[]
}

/** Instructions per stage, line continuations joined, comments dropped. */
function stagesOf(dockerfile: string): Stage[] {
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  const stages: Stage[] = []
  for (const line of instructions) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line)
    if (from) stages.push({ name: from[1], lines: [] })
    else stages.at(-1)?.lines.push(line)
  }
  return stages
}

/** The packages the TypeScript files under `dir` import at run time (not below `exclude`). */
function importsOf(dir: string, exclude?: string): Set<string> {
  const found = new Set<string>()
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry)
      if (exclude !== undefined && path === join(root, exclude)) continue
      if (statSync(path).isDirectory()) walk(path)
      else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) {
        const source = readFileSync(path, 'utf8').replace(/^import type [^;]*?from '[^']+'/gms, '')
        for (const m of source.matchAll(/(?:from |import\(|require\()'([^'./][^']*)'/g)) {
          const spec = m[1]!
          if (spec.startsWith('node:')) continue
          found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!)
        }
      }
    }
  }
  walk(join(root, dir))
  return found
}

describe.each(Object.keys(SERVICES) as Service[])('services/%s/Dockerfile', (name) => {
  const stages = stagesOf(read(`services/${name}/Dockerfile`))
  const final = stages.at(-1)!
  const stageNamed = (n: string) => stages.find((s) => s.name === n)

  it('is multi-stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
  })

  it('runs as a non-root user: USER before CMD in the final stage', () => {
    const user = final.lines.findIndex((l) => /^USER\s/i.test(l))
    const cmd = final.lines.findIndex((l) => /^CMD\s/i.test(l))
    expect(user).toBeGreaterThanOrEqual(0)
    expect(final.lines[user]!.split(/\s+/)[1]).not.toMatch(/^(root|0)(:|$)/)
    expect(cmd).toBeGreaterThan(user)
    expect(final.lines[cmd]).toContain(`services/${name}/dist/server.js`)
    expect(final.lines).toContainEqual(expect.stringMatching(/^ENV .*NODE_ENV=production/))
  })

  it('has a HEALTHCHECK that probes the service', () => {
    const check = final.lines.find((l) => /^HEALTHCHECK\s/i.test(l))
    expect(check).toBeDefined()
    expect(check).toMatch(/\/(readyz|healthz)/)
    expect(check).toContain(`${name.toUpperCase()}_PORT`)
    expect(final.lines).toContain(`EXPOSE ${SERVICES[name].port}`)
  })

  it('ships production dependencies only: node_modules come from a --prod install, other stages give build output only', () => {
    const copies = final.lines.filter((l) => /^COPY\s/i.test(l))
    expect(copies.some((l) => /^COPY \. /.test(l) || / \. \.$/.test(l))).toBe(false)
    for (const copy of copies) {
      const from = /--from=(\S+)/.exec(copy)?.[1]
      if (!from) {
        // Only migrations come straight from the build context.
        expect(copy, copy).toMatch(/ migrations\//)
        continue
      }
      const stage = stageNamed(from)
      expect(stage, copy).toBeDefined()
      const installs = stage!.lines.filter((l) => /pnpm install/.test(l))
      const sources = copy
        .replace(/^COPY\s+(--\S+\s+)*/, '')
        .split(/\s+/)
        .slice(0, -1)
      // Build output (compiled code, built assets) may come from any stage; never its node_modules.
      if (sources.every((s) => /^\/app\/.+/.test(s) && !s.includes('node_modules'))) continue
      // The rest (the whole /app, node_modules with it) must come from a production-only install.
      expect(installs.length, copy).toBeGreaterThan(0)
      for (const install of installs) {
        expect(install).toMatch(/--prod\b/)
        expect(install).toMatch(/--frozen-lockfile/)
      }
    }
  })

  it('copies everything `pnpm install --frozen-lockfile` needs before running it (lockfile, workspace, patches)', () => {
    const workspace = parse(read('pnpm-workspace.yaml')) as { patchedDependencies?: Record<string, string> }
    for (const stage of stages) {
      const install = stage.lines.findIndex((l) => /pnpm install/.test(l))
      if (install < 0) continue
      const before = stage.lines.slice(0, install).join('\n')
      for (const file of [
        'package.json',
        'pnpm-lock.yaml',
        'pnpm-workspace.yaml',
        ...SHARED_PACKAGES.map((pkg) => `${pkg}/package.json`),
        `services/${name}/package.json`,
      ]) {
        expect(before, `${stage.name}: ${file}`).toContain(file)
      }
      for (const patch of Object.values(workspace.patchedDependencies ?? {})) {
        expect(existsSync(join(root, patch)), patch).toBe(true)
        const dir = patch.split('/')[0]!
        expect(before, `${stage.name}: ${patch}`).toMatch(new RegExp(`COPY ${dir}[ /]`))
      }
    }
  })

  it('every file it copies from the build context exists, and .dockerignore keeps the heavy and local ones out', () => {
    for (const stage of stages) {
      for (const copy of stage.lines.filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))) {
        for (const source of copy
          .replace(/^COPY\s+(--\S+\s+)*/, '')
          .split(/\s+/)
          .slice(0, -1)) {
          expect(existsSync(join(root, source)), source).toBe(true)
        }
      }
    }
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
    for (const entry of ['**/node_modules', '**/dist', '.data', '.git']) expect(ignored).toContain(entry)
  })

  it("the runtime imports only the service's and the shared packages' production dependencies", () => {
    const prod = (pkg: string) =>
      new Set(
        Object.keys((JSON.parse(read(pkg)) as { dependencies?: Record<string, string> }).dependencies ?? {}),
      )
    for (const pkg of [`services/${name}`, ...SHARED_PACKAGES]) {
      const deps = prod(`${pkg}/package.json`)
      for (const dep of importsOf(`${pkg}/src`, `${pkg}/src/testing`))
        expect(deps, `${pkg}: ${dep}`).toContain(dep)
    }
    // The test harnesses (@bio/service-kit/testing, imported by tests only) may use the test runner too.
    const kitDeps = [...prod('shared/service-kit/package.json'), 'vitest']
    for (const dep of importsOf('shared/service-kit/src/testing')) expect(kitDeps, dep).toContain(dep)
  })

  it('the runtime stage has the build output of every shared package', () => {
    for (const pkg of SHARED_PACKAGES)
      expect(final.lines, pkg).toContainEqual(expect.stringContaining(`/app/${pkg}/dist ${pkg}/dist`))
  })
})
