import { errorResponses, OkResult, successBody, successSchema } from '@bio/contracts'
import { type FastifyPluginAsyncTypebox, MINUTE } from '@bio/service-kit'
import type { AnalyticsService } from '../domain/analytics-service.js'
import { AnyIdParams, PageLeaveBody } from '../schemas/analytics.js'

const BEACON_LIMIT = 1024

/**
 * The page-leave ping. Browsers send it with `navigator.sendBeacon`, which can only POST and
 * labels a string payload `text/plain;charset=UTF-8` (a simple CORS request, no preflight). So the
 * route answers both the contract's PATCH and a beacon's POST, and, in this scope only, parses
 * `text/plain` bodies as JSON with Fastify's own prototype-poisoning-safe parser.
 */
export const pageLeaveRoutes: FastifyPluginAsyncTypebox<{ service: AnalyticsService }> = async (
  app,
  { service },
) => {
  app.addContentTypeParser(
    'text/plain',
    { parseAs: 'string', bodyLimit: BEACON_LIMIT },
    app.getDefaultJsonParser('error', 'error'),
  )
  // One rule for both routes, so the PATCH and the beacon POST share one counter.
  const config = { rateLimit: app.rateLimitFor('recordPageLeave', { max: 10, timeWindow: MINUTE }) }
  const schema = {
    tags: ['analytics'],
    params: AnyIdParams,
    body: PageLeaveBody,
    response: { 200: successSchema(OkResult), ...errorResponses(400, 413, 415, 429, 503) },
  }
  const handler = async (req: { params: { id: string }; body: PageLeaveBody }) => {
    await service.recordPageLeave(req.params.id, req.body)
    return successBody({ ok: true as const })
  }
  const description =
    'Final duration (clamped to 0-3600 s and to the time since the view was entered, plus 60 s of clock skew) and scroll depth (0-100, clamped) of the last pageview; replaces what an earlier leave of the view added to the session, so a retry changes nothing. Accepts `application/json` and `text/plain` JSON (sendBeacon). `{ ok: true }`, even for an unknown id; 503 (with Retry-After) means it was not stored: retry it.'

  app.patch(
    '/pageview/:id/leave',
    {
      bodyLimit: BEACON_LIMIT,
      config,
      schema: { ...schema, operationId: 'recordPageLeave', summary: 'Record a page leave', description },
    },
    handler,
  )
  app.post(
    '/pageview/:id/leave',
    {
      bodyLimit: BEACON_LIMIT,
      config,
      schema: {
        ...schema,
        operationId: 'recordPageLeaveBeacon',
        summary: 'Record a page leave (sendBeacon)',
        description: `Same as the PATCH, for \`navigator.sendBeacon\`, which can only POST. ${description}`,
      },
    },
    handler,
  )
}
