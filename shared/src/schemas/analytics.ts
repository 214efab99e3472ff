import { type Static, Type } from '@sinclair/typebox'
import { Uuid } from './formats.js'

const Str = (maxLength: number, description?: string) =>
  Type.Optional(Type.String({ maxLength, ...(description ? { description } : {}) }))

export const CreateSessionBody = Type.Object(
  {
    visitorId: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Stable client-generated visitor id; stored only as a keyed SHA-256 hash',
    }),
    consentAnalytics: Type.Optional(
      Type.String({ maxLength: 32, description: "Tracking happens only when exactly 'granted'" }),
    ),
    bioPageId: Type.Optional(Uuid({ description: 'Requires a valid trackingToken' })),
    trackingToken: Str(64, 'HMAC token embedded by the server-rendered bio page'),
    device: Str(32, 'Client hint; the server-side User-Agent parse wins'),
    browser: Str(64),
    os: Str(64),
    osVersion: Str(32),
    timezone: Str(64),
    referrer: Str(2048),
    landingPage: Str(2048),
    utmSource: Str(255),
    utmMedium: Str(255),
    utmCampaign: Str(255),
    utmTerm: Str(255),
    utmContent: Str(255),
  },
  { additionalProperties: false, title: 'CreateSessionBody' },
)
export type CreateSessionBody = Static<typeof CreateSessionBody>

export const RecordPageViewBody = Type.Object(
  {
    sessionId: Uuid({ description: 'From POST /analytics/session' }),
    path: Type.String({ minLength: 1, maxLength: 2048 }),
    title: Str(512),
    referrer: Str(2048),
    bioPageId: Type.Optional(Uuid({ description: "Accepted; the session's verified bio page is stored" })),
    linkClicked: Type.Optional(Uuid({ description: 'Id of the clicked bio link' })),
  },
  { additionalProperties: false, title: 'RecordPageViewBody' },
)
export type RecordPageViewBody = Static<typeof RecordPageViewBody>

export const PageLeaveBody = Type.Object(
  {
    duration: Type.Number({ minimum: 0, maximum: 3600, description: 'Seconds on the page' }),
    scrollDepth: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Percent' })),
  },
  { additionalProperties: false, title: 'PageLeaveBody' },
)
export type PageLeaveBody = Static<typeof PageLeaveBody>

/** Path ids are not validated by contract: anything up to 200 characters; a non-UUID is a silent no-op. */
export const AnyIdParams = Type.Object({ id: Type.String({ maxLength: 200 }) })

export const NullableId = Type.Object({ id: Type.Union([Uuid(), Type.Null()]) })
