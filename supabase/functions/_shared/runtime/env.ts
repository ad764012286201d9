/**
 * Environment access at request time. Functions never read env while their
 * module loads (a throw there is a 503 BOOT_ERROR on Supabase), so they take an
 * `EnvReader` and call it when a request arrives.
 */

/** Reads one environment variable; undefined when unset or not permitted. */
export type EnvReader = (name: string) => string | undefined;

/** An `EnvReader` over the process environment. */
export function processEnv(): EnvReader {
  return (name) => {
    try {
      const value = Deno.env.get(name);
      return value === "" ? undefined : value;
    } catch {
      // --deny-env or a sandbox without env access: treat as unset.
      return undefined;
    }
  };
}

/** An `EnvReader` over a fixed map, for tests and the dev server. */
export function mapEnv(values: Record<string, string | undefined>): EnvReader {
  return (name) => {
    const value = values[name];
    return value === "" ? undefined : value;
  };
}

/** Parses an integer setting within bounds, or returns `fallback` with a warning. */
export function intSetting(
  env: EnvReader,
  name: string,
  fallback: number,
  bounds: { min: number; max: number },
  warnings: string[],
): number {
  return boundedSetting(env, name, fallback, bounds, warnings, "an integer");
}

/** Parses a number setting within bounds (fractions allowed), or returns `fallback` with a warning. */
export function numberSetting(
  env: EnvReader,
  name: string,
  fallback: number,
  bounds: { min: number; max: number },
  warnings: string[],
): number {
  return boundedSetting(env, name, fallback, bounds, warnings, "a number");
}

function boundedSetting(
  env: EnvReader,
  name: string,
  fallback: number,
  bounds: { min: number; max: number },
  warnings: string[],
  kind: "an integer" | "a number",
): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const valid = raw.trim() !== "" && Number.isFinite(value) &&
    (kind === "a number" || Number.isInteger(value));
  if (!valid || value < bounds.min || value > bounds.max) {
    warnings.push(
      `${name}=${
        raw.slice(0, 20)
      } is not ${kind} in [${bounds.min}, ${bounds.max}]; using ${fallback}`,
    );
    return fallback;
  }
  return value;
}

/** Parses a boolean flag (`true/1/yes/on`). */
export function flagSetting(env: EnvReader, name: string): boolean {
  return /^(1|true|yes|on)$/i.test(env(name)?.trim() ?? "");
}
