/** drizzle-kit's output for this service (`pnpm db:generate`), applied on start and by `migrate`. */
export const MIGRATIONS_FOLDER = new URL('../../../../migrations/analytics', import.meta.url).pathname
