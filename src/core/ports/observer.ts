/** What the core reports as it works: logs and measurements (pino and prom-client sit behind it). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface CoreObserver {
  launched?(e: { microvmId: string; tenantId: string; ms: number; pooled: boolean }): void;
  resumed?(e: { microvmId: string; tenantId: string; ms: number }): void;
  suspended?(e: { microvmId: string; tenantId: string; ms: number; bytes: number }): void;
  stateChanged?(e: { microvmId: string; tenantId: string; from: string; to: string }): void;
  /** A launch's sandbox runs and its run hook is about to be called (the gateway may pre-connect); must not throw or block. */
  handingOut?(e: { microvmId: string; address: string }): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
