/** Injection tokens for the host's services (tsyringe, explicit tokens: no decorator metadata). */
export const TOKENS = {
  Config: Symbol.for("chorus.Config"),
  Logger: Symbol.for("chorus.Logger"),
  Catalogue: Symbol.for("chorus.Catalogue"),
  Launcher: Symbol.for("chorus.Launcher"),
  Selection: Symbol.for("chorus.Selection"),
  Registry: Symbol.for("chorus.Registry"),
  Scheduler: Symbol.for("chorus.Scheduler"),
  Pipeline: Symbol.for("chorus.Pipeline"),
} as const;
