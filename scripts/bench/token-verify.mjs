// Token verification in-process, per algorithm: the service's verifier (@bio/token-verifier) with
// its cache off (every token distinct) and on (tokens repeated), next to a bare fast-jwt verify of
// the same tokens measured in the same run (signature and claims only: the baseline).
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { createAccessTokenSigner } from '../../services/auth/dist/tokens/access-token-signer.js'
import { createAccessTokenVerifier } from '../../shared/token-verifier/dist/index.js'

// fast-jwt is a dependency of the verifier package, not of the workspace root.
const { createVerifier } = createRequire(
  new URL('../../shared/token-verifier/package.json', import.meta.url),
)('fast-jwt')
const ISSUER = 'bio-re-auth'
const AUDIENCE = 'bio-re-api'

function keysFor(algorithm) {
  if (algorithm === 'HS256') {
    const secret = randomBytes(48).toString('base64url')
    return { signer: { secret }, verifier: { signingSecret: secret }, raw: secret }
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const pem = publicKey.export({ format: 'pem', type: 'spki' })
  return {
    signer: { privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }) },
    verifier: { publicKeys: [pem] },
    raw: pem,
  }
}

const perSecond = async (tokens, verify) => {
  const t0 = performance.now()
  for (const t of tokens) await verify(t)
  return Math.round(tokens.length / ((performance.now() - t0) / 1000))
}

/** `{ HS256: { uncached, cached, rawFastJwt, uncachedRatio }, EdDSA: {...} }`. */
export async function measureTokenVerification({ count }) {
  const out = {}
  for (const algorithm of ['HS256', 'EdDSA']) {
    const keys = keysFor(algorithm)
    const sign = createAccessTokenSigner({
      algorithm,
      issuer: ISSUER,
      audience: AUDIENCE,
      accessTtlSeconds: 900,
      ...keys.signer,
    })
    const distinct = Array.from(
      { length: count },
      () => sign({ userId: randomUUID(), sessionId: randomUUID() }).accessToken,
    )
    const options = { issuer: ISSUER, audience: AUDIENCE, ...keys.verifier }
    const uncachedVerify = createAccessTokenVerifier({ ...options, cacheSize: 0 })
    const cachedVerify = createAccessTokenVerifier(options)
    const raw = createVerifier({ key: keys.raw, algorithms: [algorithm], cache: false })
    // Warm-up: JIT and key parsing out of the measured loops.
    for (const t of distinct.slice(0, 200)) {
      await uncachedVerify(t)
      raw(t)
    }
    const rawFastJwt = await perSecond(distinct, raw)
    const uncached = await perSecond(distinct, uncachedVerify)
    const repeated = distinct.map((_, i) => distinct[i % 100])
    const cached = await perSecond(repeated, cachedVerify)
    out[algorithm] = {
      uncached,
      cached,
      rawFastJwt,
      uncachedRatio: Math.round((uncached / rawFastJwt) * 100) / 100,
    }
  }
  return out
}
