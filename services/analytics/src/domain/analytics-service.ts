import { AppError, CommonErrors, isUuid, verifyTrackingToken } from '@bio/contracts'
import type { GeoLookup } from '@bio/service-kit'
import type { AnalyticsConfig } from '../config.js'
import type { IngestPipeline } from '../ingest/ingest-pipeline.js'
import { isoMicros } from '../lib/clock.js'
import { sessionTombstone, visitorTombstone } from '../lib/erasure-digest.js'
import { referrerDomain } from '../lib/referrer.js'
import { canonicalTimeZone } from '../lib/time-zone.js'
import { deviceInfo, isBotUserAgent } from '../lib/user-agent.js'
import { chooseRowId } from '../lib/uuid-v7.js'
import { hashVisitorId } from '../lib/visitor-hash.js'
import type {
  CreateSessionBody,
  HeartbeatBody,
  PageLeaveBody,
  RecordPageViewBody,
} from '../schemas/analytics.js'

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

function timeZoneOf(name: string | undefined): string | null {
  if (name === undefined) return null
  const zone = canonicalTimeZone(name)
  if (zone) return zone
  throw new AppError(CommonErrors.VALIDATION_FAILED, {
    details: [{ field: 'timezone', message: 'must be an IANA time zone name', rule: 'timeZone' }],
  })
}

/**
 * The ingest verbs: what is decided per request before a write is queued. Each verb answers the
 * contract's silent results (`null` id, `{ ok: true }`) for every policy rejection (bot, consent,
 * token, unknown or foreign id); validation, auth and rate limits speak up, and a write the
 * database cannot commit now is a retryable 503 (from the ingest pipeline).
 *
 * Where each ingest rule lives:
 * - here: bot filter, consent gate, tracking token, time zone, device, GeoIP, referrer domain,
 *   and the row id (lib/uuid-v7.ts `chooseRowId`: the client's UUIDv7 when its time is recent);
 * - ingest/session-writers.ts (SQL): a retried session, an erased session id or forgotten
 *   visitor (tombstones, erasure/erase.ts), the heartbeat's +30 s cap and `seq`
 *   ordering, identify's last-wins binding;
 * - ingest/pageview-writers.ts (SQL): the pageview count and bounce flag, the previous view's
 *   duration back-fill (gaps of 0..3600 s), the leave ping's clamps and its replace-not-add;
 * - ingest/writers.ts: idempotency on the primary key, and which copy of a retry answers.
 */
export function createAnalyticsService({ config, ingest, geo, now }: AnalyticsDeps) {
  return {
    /** Bot filter → consent gate → tracking token → UA parse → GeoIP → referrer → insert. */
    async createSession(body: CreateSessionBody, ctx: IngestContext): Promise<string | null> {
      if (isBotUserAgent(ctx.userAgent)) return null
      if (body.consentAnalytics !== 'granted') return null
      const timezone = timeZoneOf(body.timezone)
      const received = now()
      if (
        body.bioPageId &&
        !verifyTrackingToken(config.trackingSecret, body.bioPageId, body.trackingToken, received)
      ) {
        return null
      }
      const { id, at } = chooseRowId(body.id, received)
      const { country, city } = geo.lookup(ctx.ip)
      const visitorId = hashVisitorId(config.visitorHashSecret, body.visitorId)
      return ingest.sessions.submit({
        id,
        visitorId,
        bioPageId: body.bioPageId?.toLowerCase() ?? null,
        ...deviceInfo(ctx.userAgent, body),
        timezone,
        country,
        city,
        referrer: body.referrer || null,
        referrerDomain: referrerDomain(body.referrer),
        landingPage: body.landingPage ?? null,
        utmSource: body.utmSource ?? null,
        utmMedium: body.utmMedium ?? null,
        utmCampaign: body.utmCampaign ?? null,
        utmTerm: body.utmTerm ?? null,
        utmContent: body.utmContent ?? null,
        startedAt: isoMicros(at),
        sessionTombstone: sessionTombstone(config.visitorHashSecret, id),
        visitorTombstone: visitorTombstone(config.visitorHashSecret, visitorId),
      })
    },

    recordPageView(body: RecordPageViewBody): Promise<string | null> {
      const { id, at } = chooseRowId(body.id, now())
      return ingest.pageViews.submit({
        id,
        sessionId: body.sessionId,
        path: body.path,
        title: body.title ?? null,
        referrer: body.referrer || null,
        linkClicked: body.linkClicked ?? null,
        enteredAt: isoMicros(at),
      })
    },

    async recordPageLeave(id: string, body: PageLeaveBody): Promise<void> {
      if (!isUuid(id)) return
      await ingest.leaves.submit({
        id,
        duration: body.duration,
        scrollDepth: body.scrollDepth ?? null,
        at: isoMicros(now()),
      })
    },

    async heartbeat(id: string, body: HeartbeatBody | undefined): Promise<void> {
      if (isUuid(id)) await ingest.heartbeats.submit({ id, seq: body?.seq ?? null, at: isoMicros(now()) })
    },

    async identify(id: string, userId: string): Promise<void> {
      if (isUuid(id)) await ingest.identifies.submit({ id, userId })
    },
  }
}
export type AnalyticsService = ReturnType<typeof createAnalyticsService>
