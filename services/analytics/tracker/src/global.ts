/** Entry of the classic-script build (tracker.js): the module's API as `window.bioAnalytics`. */
import { forget, identify, init, setConsent, stop, tracker } from './tracker.js'

export type BioAnalytics = {
  init: typeof init
  identify: typeof identify
  setConsent: typeof setConsent
  /** Consent withdrawal with erasure: `tracker().forget()`. */
  forget: typeof forget
  stop: typeof stop
  tracker: typeof tracker
}

const w = window as Window & { bioAnalytics?: BioAnalytics }
// Included twice: the first copy stays, so there is still one tracker per page.
if (!w.bioAnalytics) w.bioAnalytics = { init, identify, setConsent, forget, stop, tracker }
