/**
 * The walkthrough step context a caller sends with each request: where in the
 * product the user is, which step, and what is on their screen.
 */
import { validationError } from "../_shared/http/errors.ts";

/** Where the user is in the walkthrough. */
export interface WalkthroughContext {
  /** The part of the product, e.g. "Billing settings". */
  productArea: string;
  /** The current step's title or instruction. */
  step: string;
  /** What the user currently sees (visible text, form fields, state). */
  userSees?: string;
  stepNumber?: number;
  totalSteps?: number;
}

const LIMITS = { productArea: 200, step: 500, userSees: 4_000 } as const;

/** Validates `body.context`; throws a 400 naming the field when wrong. */
export function parseWalkthroughContext(body: Record<string, unknown>): WalkthroughContext {
  const value = body.context;
  if (value === undefined || value === null) {
    throw validationError("context", "is required: {productArea, step, userSees?}");
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    throw validationError("context", "must be an object {productArea, step, userSees?}");
  }
  const raw = value as Record<string, unknown>;
  const allowed = ["productArea", "step", "userSees", "stepNumber", "totalSteps"];
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) {
      throw validationError(`context.${key}`, `unknown field; allowed: ${allowed.join(", ")}`);
    }
  }
  const context: WalkthroughContext = {
    productArea: text(raw.productArea, "productArea", true)!,
    step: text(raw.step, "step", true)!,
  };
  const userSees = text(raw.userSees, "userSees", false);
  if (userSees !== undefined) context.userSees = userSees;
  const stepNumber = count(raw.stepNumber, "stepNumber");
  const totalSteps = count(raw.totalSteps, "totalSteps");
  if (stepNumber !== undefined) context.stepNumber = stepNumber;
  if (totalSteps !== undefined) context.totalSteps = totalSteps;
  if (stepNumber !== undefined && totalSteps !== undefined && stepNumber > totalSteps) {
    throw validationError("context.stepNumber", "must not exceed context.totalSteps");
  }
  return context;
}

function text(value: unknown, name: keyof typeof LIMITS, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || value.trim() === "") {
    throw validationError(
      `context.${name}`,
      required ? "is required and must be a non-empty string" : "must be a non-empty string",
    );
  }
  if (value.length > LIMITS[name]) {
    throw validationError(`context.${name}`, `must be at most ${LIMITS[name]} characters`);
  }
  return value;
}

function count(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 1_000) {
    throw validationError(`context.${name}`, "must be an integer between 1 and 1000");
  }
  return value;
}
