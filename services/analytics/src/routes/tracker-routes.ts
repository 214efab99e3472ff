import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { AppError, CommonErrors, errorResponses } from '@bio/contracts'
import type { FastifyPluginAsyncTypebox } from '@bio/service-kit'

/** Where scripts/build-tracker.mjs writes the tracker; the same from src/routes and dist/routes. */
export const TRACKER_DIR = new URL('../../public/', import.meta.url)

const CONTENT_TYPE = 'text/javascript; charset=utf-8'
/**
 * The URL is stable (pages embed it), so browsers and CDNs keep it an hour, may use a stale copy
 * for a day while they revalidate, and revalidate cheaply with the ETag.
 */
const CACHE_CONTROL = 'public, max-age=3600, stale-while-revalidate=86400'

interface Asset {
  body: Buffer
  etag: string
}

/** `If-None-Match` names this ETag (or `*`); weak and strong forms compare equal, as RFC 9110 says for GET. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t.replace(/^W\//, '') === etag
  })
}

/**
 * The browser tracker at GET /tracker.js (classic script, `window.bioAnalytics`) and
 * GET /tracker.mjs (ES module), from `dir` (default TRACKER_DIR). Each file is read once, on its
 * first request (a rebuilt tracker is served after a restart); when it was not built the answer is
 * the 404 envelope and the next request looks again. Any origin may load them
 * (`Access-Control-Allow-Origin: *`, which module scripts need, and the service's
 * `Cross-Origin-Resource-Policy: cross-origin`).
 */
export const trackerRoutes: FastifyPluginAsyncTypebox<{ dir?: URL }> = async (app, { dir = TRACKER_DIR }) => {
  const cache = new Map<string, Asset>()

  async function asset(file: string): Promise<Asset | undefined> {
    const hit = cache.get(file)
    if (hit) return hit
    try {
      const body = await readFile(new URL(file, dir))
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
      const loaded = { body, etag }
      cache.set(file, loaded)
      return loaded
    } catch (err) {
      app.log.warn({ err, file }, 'tracker not built (scripts/build-tracker.mjs)')
      return undefined
    }
  }

  const route = (file: string, operationId: string, summary: string, description: string) =>
    app.get(
      `/${file}`,
      {
        // Public static code: no credentials, any origin (module scripts are fetched with CORS).
        config: { cors: { origin: '*', credentials: false } },
        schema: {
          tags: ['tracker'],
          operationId,
          summary,
          description: `${description} Cached for an hour (\`Cache-Control: ${CACHE_CONTROL}\`); revalidate with \`If-None-Match\`.`,
          response: {
            200: {
              description: 'The minified script',
              headers: {
                etag: { type: 'string', description: 'Strong validator of the content' },
                'cache-control': { type: 'string' },
              },
              content: { [CONTENT_TYPE]: { schema: { type: 'string' } } },
            },
            304: { description: 'Not modified: the ETag in If-None-Match is current', type: 'null' },
            ...errorResponses(404),
          },
        },
      },
      async (req, reply) => {
        const found = await asset(file)
        if (!found) throw new AppError(CommonErrors.NOT_FOUND)
        reply.header('etag', found.etag).header('cache-control', CACHE_CONTROL)
        if (matches(req.headers['if-none-match'], found.etag)) return reply.code(304).send()
        return reply.type(CONTENT_TYPE).send(found.body)
      },
    )

  route(
    'tracker.js',
    'getTrackerScript',
    'The browser tracker as a classic script',
    'Defines `window.bioAnalytics` (`init`, `identify`, `setConsent`, `forget`, `stop`, `tracker`). Embed with `<script src>`.',
  )
  route(
    'tracker.mjs',
    'getTrackerModule',
    'The browser tracker as an ES module',
    'Exports `init`, `identify`, `setConsent`, `forget`, `stop`, `tracker`. Import from a module script.',
  )
}
