import { errorResponses, successBody, successSchema } from '@bio/contracts'
import { type FastifyPluginAsyncTypebox, MINUTE } from '@bio/service-kit'
import type { ErasureService } from '../erasure/erasure-service.js'
import { ErasureCounts, ForgetCounts, ForgetVisitorBody, UserExport } from '../schemas/analytics.js'

const EXPORT_TYPE = 'application/json; charset=utf-8'

/**
 * Erasure and access (GDPR articles 17 and 15): a signed-in user erases or exports the sessions
 * bound to them; a visitor forgets its own anonymous history with its visitor id, the browser's
 * own secret (no account needed). Each erasure is one transaction (erasure/erase.ts).
 */
export const erasureRoutes: FastifyPluginAsyncTypebox<{ erasure: ErasureService }> = async (
  app,
  { erasure },
) => {
  app.delete(
    '/me',
    {
      bodyLimit: 1024,
      preHandler: app.requireAuth,
      config: { rateLimit: app.rateLimitFor('eraseMyAnalytics', { max: 5, timeWindow: MINUTE }) },
      schema: {
        tags: ['analytics'],
        operationId: 'eraseMyAnalytics',
        summary: "Erase the signed-in user's analytics",
        description:
          'Deletes every session bound to the user of the bearer token (verified locally) and their pageviews, in one transaction, and answers the counts. Their ids are tombstoned for 24 h, so a tab still open cannot recreate them. Idempotent: a second call answers zeros. 503 (with Retry-After): nothing was erased, retry.',
        security: [{ bearerAuth: [] }],
        response: { 200: successSchema(ErasureCounts), ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (req) => successBody(await erasure.eraseUser(req.auth!.sub)),
  )

  app.get(
    '/me/export',
    {
      preHandler: app.requireAuth,
      config: { rateLimit: app.rateLimitFor('exportMyAnalytics', { max: 3, timeWindow: MINUTE }) },
      schema: {
        tags: ['analytics'],
        operationId: 'exportMyAnalytics',
        summary: "Export the signed-in user's analytics (right of access)",
        description:
          'The sessions bound to the user and their pageviews, as one JSON document in the success envelope, streamed from one consistent snapshot (`Content-Disposition: attachment`). Errors before the first byte are the envelope; an error later aborts the connection, so a truncated body (invalid JSON) means the export failed: retry.',
        security: [{ bearerAuth: [] }],
        response: {
          200: {
            ...successSchema(UserExport),
            description: 'The export (streamed)',
            headers: {
              'content-disposition': {
                type: 'string',
                description: 'attachment; filename="analytics-export.json"',
              },
            },
          },
          ...errorResponses(401, 429, 503),
        },
      },
    },
    async (req, reply) => {
      const stream = await erasure.openExport(req.auth!.sub, req.log)
      return (
        reply
          .type(EXPORT_TYPE)
          .header('content-disposition', 'attachment; filename="analytics-export.json"')
          .header('cache-control', 'no-store')
          // The typed reply expects the schema's object; a stream is sent as is, never serialised.
          .send(stream as never)
      )
    },
  )

  app.post(
    '/visitor/forget',
    {
      bodyLimit: 1024,
      config: { rateLimit: app.rateLimitFor('forgetVisitor', { max: 5, timeWindow: MINUTE }) },
      schema: {
        tags: ['analytics'],
        operationId: 'forgetVisitor',
        summary: "Forget a visitor's analytics (consent withdrawal)",
        description:
          "No auth: the visitor id is the browser's own secret. The server hashes it as createSession does, deletes that visitor's anonymous sessions and their pageviews, and detaches its sessions bound to a signed-in user (they stay the user's, erasable with DELETE /me, without the visitor's hash), in one transaction; for 24 h the visitor id and the erased session ids cannot start a session again. Answers the counts (zeros for an unknown visitor). 503 (with Retry-After): nothing was erased, retry.",
        body: ForgetVisitorBody,
        response: { 200: successSchema(ForgetCounts), ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) => successBody(await erasure.forgetVisitor(req.body.visitorId)),
  )
}
