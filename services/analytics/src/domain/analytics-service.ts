import { randomUUID } from 'node:crypto'
import {
  type CreateSessionBody,
  type GeoLookup,
  isUuid,
  type PageLeaveBody,
  type RecordPageViewBody,
  verifyTrackingToken,
} from '@bio/shared'
import type { AnalyticsConfig } from '../config.js'
import type { IngestPipeline } from '../ingest/ingest-pipeline.js'
import { isoMicros } from '../lib/clock.js'
import { referrerDomain } from '../lib/referrer.js'
import { deviceInfo, isBotUserAgent } from '../lib/user-agent.js'
import { hashVisitorId } from '../lib/visitor-hash.js'

/** What the ingest rules read from the request besides the body. */
export interface IngestContext {
  ip: string
  userAgent: string | undefined
}

export interface AnalyticsDeps {
  config: AnalyticsConfig
  ingest: IngestPipeline
  geo: GeoLookup
  /** Milliseconds since the epoch, sub-millisecond precision and never repeating. */
  now: () => number
}

/**
 * The ingest rules. Each verb answers the contract's silent results (`null` id, `{ ok: true }`)
 * for every policy rejection and database failure; only validation, auth and rate limits speak up.
 */
export function createAnalyticsService({ config, ingest, geo, now }: AnalyticsDeps) {
  return {
    /** Bot filter → consent gate → tracking token → UA parse → GeoIP → referrer → insert. */
    async createSession(body: CreateSessionBody, ctx: IngestContext): Promise<string | null> {
      if (isBotUserAgent(ctx.userAgent)) return null
      if (body.consentAnalytics !== 'granted') return null
      const at = now()
      if (
        body.bioPageId &&
        !verifyTrackingToken(config.trackingSecret, body.bioPageId, body.trackingToken, at)
      ) {
        return null
      }
      const { country, city } = geo.lookup(ctx.ip)
      return ingest.sessions.submit({
        id: randomUUID(),
        visitorId: hashVisitorId(config.visitorHashSecret, body.visitorId),
        bioPageId: body.bioPageId?.toLowerCase() ?? null,
        ...deviceInfo(ctx.userAgent, body),
        timezone: body.timezone ?? null,
        country,
        city,
        referrer: body.referrer ?? null,
        referrerDomain: referrerDomain(body.referrer),
        landingPage: body.landingPage ?? null,
        utmSource: body.utmSource ?? null,
        utmMedium: body.utmMedium ?? null,
        utmCampaign: body.utmCampaign ?? null,
        utmTerm: body.utmTerm ?? null,
        utmContent: body.utmContent ?? null,
        startedAt: isoMicros(at),
      })
    },

    recordPageView(body: RecordPageViewBody): Promise<string | null> {
      return ingest.pageViews.submit({
        id: randomUUID(),
        sessionId: body.sessionId,
        path: body.path,
        title: body.title ?? null,
        referrer: body.referrer ?? null,
        linkClicked: body.linkClicked ?? null,
        enteredAt: isoMicros(now()),
      })
    },

    async recordPageLeave(id: string, body: PageLeaveBody): Promise<void> {
      if (!isUuid(id)) return
      await ingest.leaves.submit({ id, duration: body.duration, scrollDepth: body.scrollDepth ?? null })
    },

    async heartbeat(id: string): Promise<void> {
      if (isUuid(id)) await ingest.heartbeats.submit(id)
    },

    async identify(id: string, userId: string): Promise<void> {
      if (isUuid(id)) await ingest.identifies.submit({ id, userId })
    },
  }
}
export type AnalyticsService = ReturnType<typeof createAnalyticsService>
