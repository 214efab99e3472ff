import { parseArgs } from 'node:util'
import { isUuid } from '@bio/contracts'
import { ConfigError, openDatabase } from '@bio/service-kit'
import { Value } from '@sinclair/typebox/value'
import { loadAnalyticsConfig } from './config.js'
import { MIGRATIONS_FOLDER } from './db/migrations.js'
import { schema } from './db/schema.js'
import { createErasureService } from './erasure/erasure-service.js'
import { ForgetVisitorBody } from './schemas/analytics.js'

const USAGE = `usage: npm run analytics:erase -- --user <user uuid>
       npm run analytics:erase -- --visitor <visitor id>
Erases that user's sessions and pageviews (as DELETE /api/v1/analytics/me does), or forgets that
visitor (as POST /api/v1/analytics/visitor/forget does), on ANALYTICS_DATABASE_URL or the embedded
database, and prints the counts as JSON.`

type Target = { user: string } | { visitor: string }

/** The one target the arguments name, or a usage message. */
function parse(argv: string[]): Target | string {
  let values: { user?: string; visitor?: string }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { user: { type: 'string' }, visitor: { type: 'string' } },
    }))
  } catch (err) {
    return (err as Error).message
  }
  const { user, visitor } = values
  if ((user === undefined) === (visitor === undefined)) return 'give exactly one of --user and --visitor'
  if (user !== undefined) return isUuid(user) ? { user } : `--user must be a UUID`
  if (!Value.Check(ForgetVisitorBody, { visitorId: visitor }))
    return '--visitor must be 1-128 printable characters'
  return { visitor: visitor! }
}

const target = parse(process.argv.slice(2))
if (typeof target === 'string') {
  process.stderr.write(`${target}\n${USAGE}\n`)
  process.exit(2)
}
try {
  const config = loadAnalyticsConfig(process.env)
  const database = await openDatabase(config.db, schema)
  try {
    await database.migrate(MIGRATIONS_FOLDER)
    const erasure = createErasureService({
      db: database.db,
      visitorHashSecret: config.visitorHashSecret,
      now: Date.now,
    })
    const counts =
      'user' in target ? await erasure.eraseUser(target.user) : await erasure.forgetVisitor(target.visitor)
    // Never the visitor id: it is the browser's secret.
    process.stdout.write(`${JSON.stringify({ erased: 'user' in target ? 'user' : 'visitor', ...counts })}\n`)
  } finally {
    await database.close()
  }
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`)
  process.exit(1)
}
