/**
 * The "skeleton" of a username: what it looks like, for comparing against the reserved list, so
 * that `admin.`, `a-d-m-i-n`, `adm1n`, `ａｄｍｉｎ` (full-width) and `аdmin` (Cyrillic а) all
 * match `admin`. Steps:
 * 1. NFKC: compatibility forms (full-width, ligatures, super/subscripts) become plain letters;
 * 2. lower case, then NFD and drop combining marks (`àdmîn` → `admin`);
 * 3. map look-alike letters of other scripts (Cyrillic, Greek, a few others) to the Latin letter
 *    they are drawn like, after Unicode's confusables list (UTS #39) for the letters that matter;
 * 4. drop everything but a–z and 0–9 (separators `.`, `-`, `_`, spaces, punctuation);
 * 5. fold the look-alikes within ASCII: `rn` → `m`, `vv` → `w`, `0` → `o`, and `1`, `i`, `l` to
 *    one letter (they are one stroke in many fonts).
 * The skeleton is for comparing only, never stored or shown. It errs on the side of refusing: a
 * name drawn like a reserved one (`mall` for `mail`) is refused too, which costs a user a choice
 * and protects every user from an impersonated `support` or `admin`.
 */

const LOOKALIKES: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  һ: 'h',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ɡ: 'g',
  ӏ: 'l',
  ь: 'b',
  г: 'r',
  п: 'n',
  // Greek
  α: 'a',
  β: 'b',
  γ: 'y',
  δ: 'd',
  ε: 'e',
  ζ: 'z',
  η: 'n',
  ι: 'i',
  κ: 'k',
  μ: 'u',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  σ: 'o',
  ς: 'c',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ϲ: 'c',
  ϳ: 'j',
  // Latin extensions and IPA drawn like plain letters
  ı: 'i',
  ȷ: 'j',
  ɑ: 'a',
  ɩ: 'i',
  ɪ: 'i',
  ʟ: 'l',
  ɴ: 'n',
  ʀ: 'r',
  ʏ: 'y',
  ᴀ: 'a',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ᴋ: 'k',
  ᴍ: 'm',
  ᴏ: 'o',
  ᴘ: 'p',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ᴢ: 'z',
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ħ: 'h',
  ŧ: 't',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  // Symbols that stand in for letters or digits
  '|': 'l',
  '!': 'i',
  $: 's',
  '@': 'a',
}

const MARKS = /\p{M}/gu
const NOT_ALNUM = /[^a-z0-9]/g

/** The comparison form of `name` (see above); two names with one skeleton look alike. */
export function usernameSkeleton(name: string): string {
  const decomposed = name.normalize('NFKC').toLowerCase().normalize('NFD').replace(MARKS, '')
  let mapped = ''
  for (const ch of decomposed) mapped += LOOKALIKES[ch] ?? ch
  return mapped
    .replace(NOT_ALNUM, '')
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/[1i]/g, 'l')
    .replace(/0/g, 'o')
}

/** True when `name` looks like one of `reserved` once both are folded. */
export function looksReserved(name: string, reserved: Iterable<string>): boolean {
  const skeleton = usernameSkeleton(name)
  if (skeleton === '') return false
  for (const r of reserved) if (usernameSkeleton(r) === skeleton) return true
  return false
}
