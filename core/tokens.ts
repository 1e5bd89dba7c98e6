/** Injection tokens for the host's services (tsyringe, explicit tokens: no decorator metadata). */
export const TOKENS = {
  Config: Symbol.for("chorus.Config"),
  Logger: Symbol.for("chorus.Logger"),
  Registry: Symbol.for("chorus.Registry"),
  Scheduler: Symbol.for("chorus.Scheduler"),
  Pipeline: Symbol.for("chorus.Pipeline"),
} as const;
