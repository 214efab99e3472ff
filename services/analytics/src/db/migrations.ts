import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** drizzle-kit's output for this service (`pnpm db:generate`), applied on start and by `migrate`. */
export const MIGRATIONS_FOLDER = new URL('../../../../migrations/analytics', import.meta.url).pathname

/**
 * A copy of the migrations folder that ends at the migration tagged `lastTag` (e.g.
 * `0003_heartbeat_seq`), in a new temporary folder: a database migrated with it has an earlier
 * layout, which the migration test and the benchmark's baseline need. Migrating later with
 * MIGRATIONS_FOLDER applies the rest.
 */
export function migrationsFolderUpTo(lastTag: string, folder = MIGRATIONS_FOLDER): string {
  const journalFile = join(folder, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] }
  const end = journal.entries.findIndex((e) => e.tag === lastTag)
  if (end < 0) throw new Error(`no migration tagged ${lastTag}`)
  const out = mkdtempSync(join(tmpdir(), 'analytics-migrations-'))
  cpSync(folder, out, { recursive: true })
  journal.entries = journal.entries.slice(0, end + 1)
  writeFileSync(join(out, 'meta', '_journal.json'), JSON.stringify(journal))
  return out
}
