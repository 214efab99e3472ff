import { describe, expect, it } from 'vitest'
import { AUTH, registerUser, useAuthHarness } from './helper.js'
import { memoryTransport } from './mail-capture.js'

/**
 * forgot-password must not tell whether an account exists: the same status, body and headers, and
 * the same time. The request path runs the same statements for every address (one lookup, one
 * transaction with an outbox row and an audit event) and never waits for mail; whether a mail
 * goes out is decided by the sender afterwards. Calls alternate between the two addresses, so
 * machine noise falls on both alike; the medians of 50 calls each must be within 5 ms.
 */

const mail = memoryTransport()

const h = useAuthHarness({ app: { mail } })

const forgot = (email: string) =>
  h.app.inject({ method: 'POST', url: `${AUTH}/forgot-password`, payload: { email } })

/** Headers that must match: all but the per-request id and the clock. */
const stableHeaders = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'x-request-id' && k !== 'date'))

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2
}

describe('forgot-password: a real and an unknown e-mail look the same', () => {
  it('same status, body and headers; medians within 5 ms over 50 calls each', async () => {
    const user = await registerUser(h.app)
    const unknown = `nobody.${Date.now()}@example.com`
    const real = await forgot(user.email)
    const ghost = await forgot(unknown)
    expect(real.statusCode).toBe(200)
    expect(ghost.statusCode).toBe(real.statusCode)
    expect(ghost.body).toBe(real.body)
    expect(stableHeaders(ghost.headers)).toEqual(stableHeaders(real.headers))

    const times: Record<'real' | 'ghost', number[]> = { real: [], ghost: [] }
    for (let i = 0; i < 100; i++) {
      const which = i % 2 === 0 ? 'real' : 'ghost'
      const started = process.hrtime.bigint()
      const res = await forgot(which === 'real' ? user.email : unknown)
      times[which].push(Number(process.hrtime.bigint() - started) / 1e6)
      expect(res.statusCode).toBe(200)
      expect(res.body).toBe(real.body)
    }
    const [r, g] = [median(times.real), median(times.ghost)]
    if (process.env.SHOW_TIMING) console.log(`medians: real ${r.toFixed(2)} ms, unknown ${g.toFixed(2)} ms`)
    expect(Math.abs(r - g), `medians: real ${r.toFixed(2)} ms, unknown ${g.toFixed(2)} ms`).toBeLessThan(5)

    // And the real one did get its mails (the newest link voids the older ones).
    await h.app.mailOutbox.idle()
    expect(mail.mails.filter((m) => m.to === user.email && /reset/i.test(m.subject)).length).toBe(51)
    expect(mail.mails.some((m) => m.to === unknown)).toBe(false)
  })
})
