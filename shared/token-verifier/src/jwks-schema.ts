import { type Static, Type } from '@sinclair/typebox'

/** One public key of a JWKS (RFC 7517 §4), as auth publishes it. */
export const PublicJwkSchema = Type.Object(
  {
    kty: Type.String({ description: '`OKP` (Ed25519) or `EC` (P-256)' }),
    crv: Type.String({ description: '`Ed25519` or `P-256`' }),
    x: Type.String(),
    y: Type.Optional(Type.String({ description: 'EC keys only' })),
    kid: Type.String({ description: 'RFC 7638 thumbprint; access tokens name it in their header' }),
    alg: Type.Union([Type.Literal('EdDSA'), Type.Literal('ES256')]),
    use: Type.Literal('sig'),
  },
  { additionalProperties: false },
)

/** A JSON Web Key Set (RFC 7517 §5): public keys only, never a shared secret. */
export const JsonWebKeySet = Type.Object(
  { keys: Type.Array(PublicJwkSchema) },
  { additionalProperties: false },
)
export type JsonWebKeySet = Static<typeof JsonWebKeySet>
