import { Uuid } from '@bio/contracts'
import { type Static, Type } from '@sinclair/typebox'

/** No C0 or C1 control character and no DEL (CR/LF would forge log lines and dashboard rows). */
const PRINTABLE = '[^\\u0000-\\u001F\\u007F-\\u009F]'
const TEXT = `^${PRINTABLE}*$`
/** An absolute http(s) URL, or empty (no `javascript:`, `data:` or other scheme a dashboard could render as a link). */
const HTTP_URL = `^$|^[hH][tT][tT][pP][sS]?://[^\\s\\u0000-\\u001F\\u007F-\\u009F]+$`
/** A path on the site: starts with one `/` (not `//` or `/\\`, which browsers read as another host). */
const PATH = `^/(?![/\\\\])${PRINTABLE}*$`
/** The shape of an IANA zone name (`Europe/Paris`, `UTC`, `Etc/GMT+5`); the service checks it is a real one. */
const TIME_ZONE = '^[A-Za-z][A-Za-z0-9_+\\-]*(/[A-Za-z0-9_+\\-]+){0,2}$'

const Str = (maxLength: number, description?: string, pattern = TEXT) =>
  Type.Optional(Type.String({ maxLength, pattern, ...(description ? { description } : {}) }))
const Url = (description: string) => Str(2048, `${description}; an absolute http(s) URL`, HTTP_URL)

/** A client-chosen row id: taken when it is a UUIDv7 of the last 24 h (1 min of skew), else replaced. */
const ClientId = (what: string) =>
  Type.Optional(
    Type.String({
      maxLength: 64,
      description: `Client-chosen ${what} id, a UUIDv7 whose time is the event's time. Used as the row id when that time is within the last 24 h (and at most 1 min ahead); any other value is replaced by a server-made UUIDv7. Sending the same id again (a retry) changes nothing and gets the same answer.`,
    }),
  )

export const CreateSessionBody = Type.Object(
  {
    id: ClientId('session'),
    visitorId: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: TEXT,
      description: 'Stable client-generated visitor id; stored only as a keyed SHA-256 hash',
    }),
    consentAnalytics: Type.Optional(
      Type.String({
        maxLength: 32,
        pattern: TEXT,
        description: "Tracking happens only when exactly 'granted'",
      }),
    ),
    bioPageId: Type.Optional(Uuid({ description: 'Requires a valid trackingToken' })),
    trackingToken: Str(64, 'HMAC token embedded by the server-rendered bio page'),
    device: Str(32, 'Client hint; the server-side User-Agent parse wins'),
    browser: Str(64),
    os: Str(64),
    osVersion: Str(32),
    timezone: Str(64, 'An IANA time zone name, e.g. Europe/Paris', TIME_ZONE),
    referrer: Url('The document referrer'),
    landingPage: Str(2048, 'The first page of the visit: a path (with its query string)', PATH),
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
    id: ClientId('pageview'),
    sessionId: Uuid({ description: 'From POST /analytics/session' }),
    path: Type.String({
      minLength: 1,
      maxLength: 2048,
      pattern: PATH,
      description: 'A path: starts with one /',
    }),
    title: Str(512),
    referrer: Url('The in-app referrer'),
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

export const HeartbeatBody = Type.Object(
  {
    seq: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2_147_483_647,
        description: 'Increases with every heartbeat of the session; a repeated or older seq adds nothing',
      }),
    ),
  },
  { additionalProperties: false, title: 'HeartbeatBody' },
)
export type HeartbeatBody = Static<typeof HeartbeatBody>

/** Path ids are not validated by contract: anything up to 200 characters; a non-UUID is a silent no-op. */
export const AnyIdParams = Type.Object({ id: Type.String({ maxLength: 200 }) })

export const NullableId = Type.Object({ id: Type.Union([Uuid(), Type.Null()]) })
