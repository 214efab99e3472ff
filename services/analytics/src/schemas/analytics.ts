import { Uuid } from '@bio/contracts'
import { type Static, type TSchema, Type } from '@sinclair/typebox'

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

const VisitorId = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: TEXT,
  description: 'Stable client-generated visitor id; stored only as a keyed SHA-256 hash',
})

export const CreateSessionBody = Type.Object(
  {
    id: ClientId('session'),
    visitorId: VisitorId,
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

/** POST /visitor/forget: the visitor id exactly as createSession received it. */
export const ForgetVisitorBody = Type.Object(
  { visitorId: VisitorId },
  { additionalProperties: false, title: 'ForgetVisitorBody' },
)
export type ForgetVisitorBody = Static<typeof ForgetVisitorBody>

const Count = (description: string) => Type.Integer({ minimum: 0, description })

export const ErasureCounts = Type.Object(
  {
    sessions: Count('Sessions deleted'),
    pageviews: Count('Pageviews deleted (those of the deleted sessions)'),
  },
  { title: 'ErasureCounts' },
)

export const ForgetCounts = Type.Object(
  {
    ...ErasureCounts.properties,
    detached: Count(
      "Sessions of the visitor bound to a signed-in user: kept as that user's (DELETE /me erases them) but no longer linked to the visitor",
    ),
  },
  { title: 'ForgetCounts' },
)

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const Time = (description: string) => Type.String({ format: 'date-time', description })
const Text = Nullable(Type.String())

export const ExportedSession = Type.Object(
  {
    id: Uuid(),
    visitorHash: Type.String({
      description: "Keyed hash of the browser's visitor id (the id itself is never stored)",
    }),
    bioPageId: Nullable(Uuid()),
    startedAt: Time('Start of the visit'),
    lastActivityAt: Time('Last pageview, leave or heartbeat'),
    device: Text,
    browser: Text,
    os: Text,
    osVersion: Text,
    timezone: Text,
    country: Text,
    city: Text,
    referrer: Text,
    referrerDomain: Type.String(),
    landingPage: Text,
    utmSource: Text,
    utmMedium: Text,
    utmCampaign: Text,
    utmTerm: Text,
    utmContent: Text,
    pageViews: Type.Integer(),
    bounced: Type.Boolean(),
    duration: Type.Integer({ description: 'Seconds' }),
  },
  { title: 'ExportedSession' },
)

export const ExportedPageView = Type.Object(
  {
    id: Uuid(),
    sessionId: Uuid(),
    bioPageId: Nullable(Uuid()),
    path: Type.String(),
    title: Text,
    referrer: Text,
    linkClicked: Nullable(Uuid()),
    enteredAt: Time('When the page was entered'),
    duration: Nullable(Type.Number({ description: 'Seconds on the page' })),
    scrollDepth: Nullable(Type.Number({ description: 'Percent' })),
    leftAt: Nullable(Time('When the leave ping arrived')),
  },
  { title: 'ExportedPageView' },
)

/** GET /me/export's `data`: everything the analytics database holds about the user. */
export const UserExport = Type.Object(
  {
    userId: Uuid(),
    exportedAt: Time('When the export was taken (one consistent snapshot)'),
    sessions: Type.Array(ExportedSession, {
      description: 'The sessions bound to the user, by id (time order)',
    }),
    pageviews: Type.Array(ExportedPageView, { description: 'Their pageviews, by session and time' }),
  },
  { title: 'UserExport' },
)
