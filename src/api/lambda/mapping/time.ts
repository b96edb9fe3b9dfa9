/** The wire's timestamps: restJson1 without a format trait means epoch seconds (a JSON number). */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

export function optionalEpochSeconds(date: Date | undefined): number | undefined {
  return date === undefined ? undefined : epochSeconds(date);
}
