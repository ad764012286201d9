/**
 * `LLM_DEPLOYMENTS`, checked entry by entry: a malformed deployment is left
 * out with a warning naming the model, the deployment and the field (never
 * the value, which may be a key pasted into the wrong place), and its
 * well-formed siblings stay. Whether each model is in the catalog and each
 * key is set is checked where those are known (`router-env/from-env.ts`).
 */
import type { DeploymentConfig } from "./deployments.ts";

/** Deployments by catalog model id. */
export type DeploymentsByModel = Record<string, DeploymentConfig[]>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const FIELDS = new Set(["name", "weight", "keyEnv", "baseUrl", "rpm", "tpm"]);
const MAX_WEIGHT = 1_000_000;

/**
 * The deployments in `raw` (the setting's text; undefined: none), e.g.
 * `{"gpt-4o-mini":[{"name":"key-a","weight":3,"keyEnv":"OPENAI_KEY_A","rpm":500},
 * {"name":"mirror","weight":1,"keyEnv":"MIRROR_KEY","baseUrl":"https://mirror.example/v1"}]}`.
 */
export function deploymentsFrom(raw: string | undefined, warnings: string[]): DeploymentsByModel {
  if (raw === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  if (!isObject(value)) {
    warnings.push(
      "LLM_DEPLOYMENTS is not valid (a JSON object of model id → list of deployments); ignoring it",
    );
    return {};
  }
  const byModel: DeploymentsByModel = {};
  for (const [model, list] of Object.entries(value)) {
    const where = `LLM_DEPLOYMENTS ${clip(model)}`;
    if (!Array.isArray(list) || list.length === 0) {
      warnings.push(`${where}: not a non-empty list of deployments; ignoring the model`);
      continue;
    }
    const deployments: DeploymentConfig[] = [];
    list.forEach((entry, index) => {
      const deployment = deploymentOf(entry, `${where}[${index}]`, warnings);
      if (!deployment) return;
      if (deployments.some((other) => other.name === deployment.name)) {
        warnings.push(`${where}[${index}]: the name ${deployment.name} is taken; left out`);
        return;
      }
      deployments.push(deployment);
    });
    if (deployments.length === 0) continue;
    if (deployments.every((deployment) => deployment.weight === 0)) {
      warnings.push(`${where}: every weight is 0; the deployments are tried in the listed order`);
    }
    byModel[model] = deployments;
  }
  return byModel;
}

/** One entry, or undefined (with a warning) when any field is malformed. */
function deploymentOf(
  entry: unknown,
  where: string,
  warnings: string[],
): DeploymentConfig | undefined {
  const fail = (problem: string) => {
    warnings.push(`${where}: ${problem}; left out`);
    return undefined;
  };
  if (!isObject(entry)) return fail("not an object");
  const { name, weight = 1, keyEnv, baseUrl, rpm, tpm } = entry;
  if (typeof name !== "string" || !NAME.test(name)) {
    return fail("name must be 1-64 letters, digits, '.', '_' or '-'");
  }
  const at = `${where} (${name})`;
  const failAt = (problem: string) => {
    warnings.push(`${at}: ${problem}; left out`);
    return undefined;
  };
  const unknown = Object.keys(entry).filter((field) => !FIELDS.has(field));
  if (unknown.length > 0) {
    // An inline key lands here. Left out rather than served with the provider's key instead.
    return failAt(
      `unknown field ${
        unknown.map((field) => FIELD_NAME.test(field) ? field : "(unnamed)").join(", ")
      } (keys are referenced by env name: keyEnv)`,
    );
  }
  if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0 || weight > MAX_WEIGHT) {
    return failAt(`weight must be a number in [0, ${MAX_WEIGHT}]`);
  }
  if (keyEnv !== undefined && (typeof keyEnv !== "string" || !ENV_NAME.test(keyEnv))) {
    return failAt("keyEnv must name an env var (A-Z, 0-9, _)");
  }
  const url = baseUrl === undefined ? undefined : endpointOf(baseUrl);
  if (baseUrl !== undefined && !url) {
    return failAt("baseUrl must be an http(s) URL without credentials in it");
  }
  for (const [unit, limit] of [["rpm", rpm], ["tpm", tpm]] as const) {
    if (limit !== undefined && !(Number.isInteger(limit) && (limit as number) > 0)) {
      return failAt(`${unit} must be a positive integer`);
    }
  }
  return {
    name,
    weight,
    ...(keyEnv !== undefined ? { keyEnv: keyEnv as string } : {}),
    ...(url ? { baseUrl: url } : {}),
    ...(rpm !== undefined ? { rpm: rpm as number } : {}),
    ...(tpm !== undefined ? { tpm: tpm as number } : {}),
  };
}

/** `value` as a base URL without trailing slashes, or undefined when it is not one to send keys to. */
function endpointOf(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  if (url.username || url.password) return undefined;
  return value.replace(/\/+$/, "");
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Operator text in a warning: printable and short. */
function clip(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}
