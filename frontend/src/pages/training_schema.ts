// The launch form's recipes and their typed parameters, read from the API's own OpenAPI schema
// (`GET /api/schema/`): training/api/recipe_schemas.py writes every recipe's parameter dataclass there,
// with types, defaults and ranges, so they are declared once (training/recipes/) and the form follows
// a recipe added or changed on the server. The schema is read once per page load.

import { api } from "../api";
import { isRecord } from "./training_types";

export type ParamType = "integer" | "number" | "boolean" | "string" | "object";

export interface ParamSpec {
  name: string;
  type: ParamType;
  default: unknown;
  minimum: number | null;
  maximum: number | null;
  nullable: boolean;
  description: string;
  choices: string[];
  /** A nested group (a LoRA adapter): its own parameters. */
  children: ParamSpec[];
}

export interface RecipeSpec {
  name: string;
  description: string;
  params: ParamSpec[];
}

export interface LaunchSchema {
  recipes: RecipeSpec[];
  gpuTypes: string[];
  gpuTypeDefault: string;
  gpusMinimum: number;
  /** How several GPUs split the run ("ddp", "fsdp"); empty when the schema offers no choice. */
  strategies: string[];
}

type Json = Record<string, unknown>;

let loaded: Promise<LaunchSchema> | null = null;

export function loadLaunchSchema(): Promise<LaunchSchema> {
  loaded ??= api<Json>("GET", "/api/schema/").then(readLaunchSchema);
  // A failed read is asked again the next time the form opens.
  loaded.catch(() => (loaded = null));
  return loaded;
}

/** The schema object a `$ref` (or an `allOf` of one ref, drf-spectacular's way to add a description) names. */
function resolve(schema: Json, node: unknown): Json {
  let current = isRecord(node) ? node : {};
  for (let depth = 0; depth < 8; depth++) {
    if (typeof current.$ref === "string") {
      const name = current.$ref.replace("#/components/schemas/", "");
      const components = isRecord(schema.components) && isRecord(schema.components.schemas) ? schema.components.schemas : {};
      const target = components[name];
      current = isRecord(target) ? { ...target, ...withoutRef(current) } : {};
    } else if (Array.isArray(current.allOf) && current.allOf.length === 1) {
      const [inner] = current.allOf;
      const rest = { ...current };
      delete rest.allOf;
      current = { ...(isRecord(inner) ? inner : {}), ...rest };
    } else {
      return current;
    }
  }
  return current;
}

function withoutRef(node: Json): Json {
  const rest = { ...node };
  delete rest.$ref;
  return rest;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function paramSpecs(schema: Json, node: unknown): ParamSpec[] {
  const object = resolve(schema, node);
  const properties = isRecord(object.properties) ? object.properties : {};
  return Object.entries(properties).map(([name, raw]) => {
    const field = resolve(schema, raw);
    const type = (["integer", "number", "boolean", "string", "object"].includes(String(field.type)) ? field.type : isRecord(field.properties) ? "object" : "string") as ParamType;
    return {
      name,
      type,
      default: field.default ?? null,
      minimum: numberOrNull(field.minimum),
      maximum: numberOrNull(field.maximum),
      nullable: field.nullable === true,
      description: typeof field.description === "string" ? field.description.split("\n\n")[0] : "",
      choices: Array.isArray(field.enum) ? field.enum.map(String) : [],
      children: type === "object" ? paramSpecs(schema, field) : [],
    };
  });
}

/** The recipes of the launch body (`POST /api/training-jobs/`, or the estimate's, which takes the same body). */
export function readLaunchSchema(schema: Json): LaunchSchema {
  const paths = isRecord(schema.paths) ? schema.paths : {};
  const bodyOf = (pattern: RegExp): Json | null => {
    const key = Object.keys(paths).find((path) => pattern.test(path));
    const operation = key && isRecord(paths[key]) && isRecord((paths[key] as Json).post) ? ((paths[key] as Json).post as Json) : null;
    const content = operation && isRecord(operation.requestBody) && isRecord(operation.requestBody.content) ? operation.requestBody.content : null;
    const json = content && isRecord(content["application/json"]) ? (content["application/json"] as Json) : null;
    const body = json ? resolve(schema, json.schema) : null;
    return body && isRecord(body.discriminator) ? body : null;
  };
  const body = bodyOf(/^\/api\/training-jobs\/?$/) ?? bodyOf(/^\/api\/training-jobs\/estimate\/?$/);
  if (!body) throw new Error("The API schema describes no training recipe.");
  const mapping = isRecord(body.discriminator) && isRecord(body.discriminator.mapping) ? body.discriminator.mapping : {};
  const recipes: RecipeSpec[] = [];
  let resources: Json = {};
  for (const [name, ref] of Object.entries(mapping)) {
    const recipeBody = resolve(schema, { $ref: ref });
    const properties = isRecord(recipeBody.properties) ? recipeBody.properties : {};
    const params = resolve(schema, properties.params);
    recipes.push({ name, description: typeof params.description === "string" ? params.description : "", params: paramSpecs(schema, params) });
    if (isRecord(properties.resources)) resources = resolve(schema, properties.resources);
  }
  const resourceFields = isRecord(resources.properties) ? resources.properties : {};
  const gpuType = resolve(schema, resourceFields.gpu_type);
  const gpus = resolve(schema, resourceFields.gpus);
  const strategy = resolve(schema, resourceFields.strategy);
  return {
    recipes,
    gpuTypes: Array.isArray(gpuType.enum) ? gpuType.enum.map(String) : [],
    gpuTypeDefault: typeof gpuType.default === "string" ? gpuType.default : "",
    gpusMinimum: numberOrNull(gpus.minimum) ?? 1,
    strategies: Array.isArray(strategy.enum) ? strategy.enum.map(String) : [],
  };
}
