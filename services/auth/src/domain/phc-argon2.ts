/**
 * argon2 hashes in the PHC string format, read strictly and written in its standard order:
 * `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` (salt and hash in unpadded
 * standard base64). libargon2-based verifiers (PHP, Python's argon2-cffi, several Go and Java
 * ports) refuse the `m,p,t` order that node-argon2 writes, so stored hashes use this one.
 */

export interface Argon2Phc {
  type: 'argon2id' | 'argon2i' | 'argon2d'
  version: number
  memoryCost: number
  timeCost: number
  parallelism: number
  salt: Buffer
  hash: Buffer
}

const DECIMAL = '(0|[1-9][0-9]{0,9})'
const B64 = '([A-Za-z0-9+/]+)'
const STANDARD = new RegExp(
  `^\\$(argon2id|argon2i|argon2d)\\$v=${DECIMAL}\\$m=${DECIMAL},t=${DECIMAL},p=${DECIMAL}\\$${B64}\\$${B64}$`,
)
const NODE_ARGON2_ORDER = /^(\$argon2(?:id|i|d)\$v=\d+\$m=\d+),p=(\d+),t=(\d+)\$/

/** Unpadded base64 that decodes to exactly these characters (no stray bits, no padding). */
function strictBase64(text: string): Buffer | undefined {
  if (text.length % 4 === 1) return undefined
  const bytes = Buffer.from(text, 'base64')
  return bytes.toString('base64').replace(/=+$/, '') === text ? bytes : undefined
}

/** Parses a standard-order argon2 PHC string; anything else (another order, padding…) is undefined. */
export function parseArgon2Phc(phc: string): Argon2Phc | undefined {
  const m = STANDARD.exec(phc)
  if (!m) return undefined
  const [, type, version, memory, time, lanes, salt64, hash64] = m
  const salt = strictBase64(salt64!)
  const hash = strictBase64(hash64!)
  if (!salt || !hash || salt.length < 8 || hash.length < 4) return undefined
  const parsed = {
    type: type as Argon2Phc['type'],
    version: Number(version),
    memoryCost: Number(memory),
    timeCost: Number(time),
    parallelism: Number(lanes),
    salt,
    hash,
  }
  if (parsed.version !== 19 && parsed.version !== 16) return undefined
  if (parsed.timeCost < 1 || parsed.parallelism < 1 || parsed.memoryCost < 8 * parsed.parallelism)
    return undefined
  return parsed
}

/** Writes the standard PHC string of a parsed hash. */
export function formatArgon2Phc(p: Argon2Phc): string {
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '')
  return `$${p.type}$v=${p.version}$m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism}$${b64(p.salt)}$${b64(p.hash)}`
}

/**
 * The same hash with its parameters in the standard order: a pure reordering of node-argon2's
 * `m=…,p=…,t=…`. Any other string is returned as it is. Migration 0003 does the same in SQL.
 */
export function toStandardOrder(phc: string): string {
  return phc.replace(NODE_ARGON2_ORDER, '$1,t=$3,p=$2$')
}
