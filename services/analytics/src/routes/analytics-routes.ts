import { errorResponses, OkResult, successBody, successSchema } from '@bio/contracts'
import { type FastifyPluginAsyncTypebox, MINUTE } from '@bio/service-kit'
import type { AnalyticsService } from '../domain/analytics-service.js'
import {
  AnyIdParams,
  CreateSessionBody,
  HeartbeatBody,
  NullableId,
  RecordPageViewBody,
} from '../schemas/analytics.js'
import { pageLeaveRoutes } from './page-leave-routes.js'

const OK_BODY = successBody({ ok: true as const })

/** The ingest endpoints. Thin: a schema, a rate limit and one call into the service each. */
export const analyticsRoutes: FastifyPluginAsyncTypebox<{ service: AnalyticsService }> = async (
  app,
  { service },
) => {
  app.post(
    '/session',
    {
      bodyLimit: 8192,
      config: { rateLimit: app.rateLimitFor('createSession', { max: 10, timeWindow: MINUTE }) },
      schema: {
        tags: ['analytics'],
        operationId: 'createSession',
        summary: 'Open an anonymous session',
        description:
          "`id` is null when the visit is not tracked: a bot, no consent (`consentAnalytics` other than 'granted'), a missing or invalid tracking token for `bioPageId`, or an `id` that belongs to another visitor's session. Send no pageviews then. 503 (with Retry-After) means the session could not be stored now: retry the same request, with the same `id`.",
        body: CreateSessionBody,
        response: { 200: successSchema(NullableId), ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) =>
      successBody({
        id: await service.createSession(req.body, { ip: req.clientIp, userAgent: req.headers['user-agent'] }),
      }),
  )

  app.post(
    '/pageview',
    {
      bodyLimit: 8192,
      config: { rateLimit: app.rateLimitFor('recordPageView', { max: 30, timeWindow: MINUTE }) },
      schema: {
        tags: ['analytics'],
        operationId: 'recordPageView',
        summary: 'Record a pageview',
        description:
          "Bumps the session's pageview count and bounce flag and back-fills the previous view's duration, once per `id`. `id` is null when the session is unknown or the `id` belongs to a view of another session. 503 (with Retry-After) means the view could not be stored now: retry the same request, with the same `id`.",
        body: RecordPageViewBody,
        response: { 200: successSchema(NullableId), ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) => successBody({ id: await service.recordPageView(req.body) }),
  )

  await app.register(pageLeaveRoutes, { service })

  app.patch(
    '/session/:id/heartbeat',
    {
      bodyLimit: 1024,
      config: { rateLimit: app.rateLimitFor('sessionHeartbeat', { max: 5, timeWindow: 30_000 }) },
      // The body is optional: a beat without one is validated as `{}` (no seq), as before.
      preValidation: async (req) => {
        req.body ??= {}
      },
      schema: {
        tags: ['analytics'],
        operationId: 'sessionHeartbeat',
        summary: 'Keep a session alive (up to +30 s)',
        description:
          "Optional JSON body `{ seq }`: a beat whose `seq` is not above every earlier one of the session (a retry) adds nothing. A beat adds the time since the session's last activity, at most 30 s. Always `{ ok: true }`, even for an unknown id; 503 (with Retry-After) means it was not stored: retry it.",
        params: AnyIdParams,
        body: HeartbeatBody,
        response: { 200: successSchema(OkResult), ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      await service.heartbeat(req.params.id, req.body)
      return OK_BODY
    },
  )

  app.patch(
    '/session/:id/identify',
    {
      bodyLimit: 1024,
      preHandler: app.requireAuth,
      schema: {
        tags: ['analytics'],
        operationId: 'identifySession',
        summary: 'Attribute a session to the signed-in user',
        description:
          'No body; the user comes from the bearer token only (verified locally). Idempotent; a different user overwrites (as the contract says, with no limit: whoever holds a session id and a valid token can re-attribute that session). `{ ok: true }` for a valid token, even for an unknown id; 503 (with Retry-After) means it was not stored: retry it. Not rate limited.',
        security: [{ bearerAuth: [] }],
        params: AnyIdParams,
        response: { 200: successSchema(OkResult), ...errorResponses(401, 503) },
      },
    },
    async (req) => {
      await service.identify(req.params.id, req.auth!.sub)
      return OK_BODY
    },
  )
}
