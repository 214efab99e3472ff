/**
 * The one normal form of each sign-in identifier, the only form the service validates, stores,
 * compares and keys the throttle by. The auth routes apply it to the request body before
 * validation (so ` Me@X.com ` is a valid e-mail and full-width `ａｌｉｃｅ` is `alice`); everything
 * behind the routes receives identifiers already in this form.
 */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase()

/** NFKC first, so compatibility forms (full-width letters, ligatures) become their plain letters. */
export const normalizeUsername = (username: string): string => username.normalize('NFKC').trim().toLowerCase()
