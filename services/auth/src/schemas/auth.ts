import { Uuid } from '@bio/contracts'
import { type Static, Type } from '@sinclair/typebox'

/**
 * Control characters (C0, DEL, C1) and the bidirectional overrides and isolates that can make a
 * name display as something else: refused in every free-text field.
 */
export const NO_CONTROL_CHARS_RULE =
  '^[^\\u0000-\\u001F\\u007F-\\u009F\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069]*$'

/**
 * An absolute http(s) URL with a host and no user-info (`https://trusted.example@evil.example`
 * reads as the first host and goes to the second), and no spaces or control characters.
 */
export const HTTP_URL_RULE =
  '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#@\\u0000-\\u001F\\u007F-\\u009F]+([/?#][^\\s\\u0000-\\u001F\\u007F-\\u009F]*)?$'

const Str = (maxLength: number, description?: string) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: NO_CONTROL_CHARS_RULE,
    ...(description ? { description } : {}),
  })

const HttpUrl = (maxLength: number) =>
  Type.String({
    minLength: 1,
    maxLength,
    format: 'uri',
    pattern: HTTP_URL_RULE,
    description: 'An absolute http:// or https:// URL',
  })

export const PASSWORD_RULE = '^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).*$'
export const USERNAME_RULE = '^[a-z0-9._-]+$'

export const RegisterBody = Type.Object(
  {
    email: Type.String({
      format: 'email',
      maxLength: 254,
      description: 'Trimmed and lower-cased by the server',
    }),
    password: Type.String({
      minLength: 8,
      maxLength: 128,
      pattern: PASSWORD_RULE,
      description: '8-128 characters with an upper-case letter, a lower-case letter and a digit',
    }),
    acceptedTerms: Type.Literal(true, { description: 'Must be true' }),
    acceptedPrivacy: Type.Literal(true, { description: 'Must be true' }),
    username: Type.Optional(
      Type.String({
        minLength: 3,
        maxLength: 30,
        pattern: USERNAME_RULE,
        description: 'Lower-cased by the server',
      }),
    ),
    displayName: Type.Optional(Str(100)),
    intent: Type.Optional(Type.Union([Type.Literal('creator'), Type.Literal('fan')])),
    captchaToken: Type.Optional(
      Str(4096, 'Accepted; captcha verification is not enabled in this deployment'),
    ),
    referralCode: Type.Optional(Str(64, "Another user's referral code; unknown codes are ignored")),
    locale: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$',
        maxLength: 35,
        description: 'A supported locale',
      }),
    ),
    utmSource: Type.Optional(Str(255)),
    utmMedium: Type.Optional(Str(255)),
    utmCampaign: Type.Optional(Str(255)),
    utmTerm: Type.Optional(Str(255)),
    utmContent: Type.Optional(Str(255)),
    firstReferrerUrl: Type.Optional(HttpUrl(2048)),
    firstLandingPage: Type.Optional(HttpUrl(2048)),
    acquiredViaCreatorId: Type.Optional(Uuid()),
  },
  { additionalProperties: false, title: 'RegisterBody' },
)
export type RegisterBody = Static<typeof RegisterBody>

export const LoginBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 128 }),
    captchaToken: Type.Optional(Str(4096)),
    turnstileToken: Type.Optional(Str(4096, 'Deprecated alias of captchaToken')),
  },
  { additionalProperties: false, title: 'LoginBody' },
)
export type LoginBody = Static<typeof LoginBody>

/** Body of refresh and logout: browsers send nothing (the cookie is used), other clients the token. */
export const RefreshTokenBody = Type.Object(
  { refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) },
  { additionalProperties: false, title: 'RefreshTokenBody' },
)
export type RefreshTokenBody = Static<typeof RefreshTokenBody>

export const TokenResult = Type.Object({
  accessToken: Type.String({
    description:
      'Access token for `Authorization: Bearer`: a JWT of type `at+jwt` signed with `JWT_ALGORITHM` ' +
      '(HS256, EdDSA or ES256); its `kid` names the verifying key (in the JWKS for EdDSA and ES256)',
  }),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires', examples: [900] }),
})
export type TokenResult = Static<typeof TokenResult>

export const RegisterResult = Type.Object({ userId: Uuid(), ...TokenResult.properties })
export type RegisterResult = Static<typeof RegisterResult>

export const MessageResult = Type.Object({ message: Type.String() })

export const UserStatus = Type.Union(
  ['ACTIVE', 'SUSPENDED', 'BANNED', 'DELETED', 'DEACTIVATED'].map((s) => Type.Literal(s)),
)

export const MeResult = Type.Object({
  id: Uuid(),
  email: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  displayName: Type.Union([Type.String(), Type.Null()]),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  status: UserStatus,
  emailVerified: Type.Boolean(),
})
export type MeResult = Static<typeof MeResult>

const NewPassword = () =>
  Type.String({
    minLength: 8,
    maxLength: 128,
    pattern: PASSWORD_RULE,
    description: '8-128 characters with an upper-case letter, a lower-case letter and a digit',
  })

const UUID_V4 = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$'
/** A mailed single-use token: a UUID v4, as the contract says. */
const MailedToken = (description: string) => Type.String({ format: 'uuid', pattern: UUID_V4, description })

export const VerifyEmailBody = Type.Object(
  { token: MailedToken('The token of the `/verify-email?token=` link') },
  { additionalProperties: false, title: 'VerifyEmailBody' },
)
export type VerifyEmailBody = Static<typeof VerifyEmailBody>

/** Body of resend-verification and forgot-password. */
export const EmailBody = Type.Object(
  {
    email: Type.String({
      format: 'email',
      maxLength: 254,
      description: 'Trimmed and lower-cased by the server',
    }),
    captchaToken: Type.Optional(
      Str(4096, 'Accepted; captcha verification is not enabled in this deployment'),
    ),
  },
  { additionalProperties: false, title: 'EmailBody' },
)
export type EmailBody = Static<typeof EmailBody>

export const ResetPasswordBody = Type.Object(
  { token: MailedToken('The token of the `/reset-password?token=` link'), newPassword: NewPassword() },
  { additionalProperties: false, title: 'ResetPasswordBody' },
)
export type ResetPasswordBody = Static<typeof ResetPasswordBody>

export const ChangePasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 128 }), newPassword: NewPassword() },
  { additionalProperties: false, title: 'ChangePasswordBody' },
)
export type ChangePasswordBody = Static<typeof ChangePasswordBody>

/** `{ success: true }` with no `data`: the contract's SuccessOnlyResponseDto. */
export const SuccessOnly = Type.Object({ success: Type.Literal(true) }, { additionalProperties: false })

export const SessionView = Type.Object({
  id: Uuid(),
  device: Type.Union([Type.String(), Type.Null()], { description: 'Browser and OS from the User-Agent' }),
  ipMasked: Type.Union([Type.String(), Type.Null()], { description: '`a.b.c.***`, or the /48 of an IPv6' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastActiveAt: Type.String({ format: 'date-time' }),
  isCurrent: Type.Boolean({ description: 'The session of the access token used for this call' }),
})
export const SessionList = Type.Array(SessionView)

export const SessionIdParams = Type.Object(
  { id: Uuid({ description: 'A session id from `GET /sessions`' }) },
  { additionalProperties: false },
)
