/**
 * A JSON Schema (draft-07) checker for the keywords layerscope.schema.json uses, so a test can
 * hold the schema and the engine's hand-written loader to the same verdicts without a schema
 * library: type, enum, required, properties, additionalProperties: false, items, minItems,
 * minLength, maxLength, pattern, local $ref, anyOf, oneOf, not.
 */
type Schema = Record<string, unknown>;

export function schemaAccepts(root: Schema, value: unknown): boolean {
    return check(root, root, value);
}

function check(root: Schema, s: Schema, v: unknown): boolean {
    if (typeof s.$ref === "string") {
        const target = s.$ref.replace(/^#\//, "").split("/").reduce<unknown>((o, k) => (o as Schema)[k], root);
        if (!check(root, target as Schema, v)) return false;
    }
    if (s.type !== undefined && !hasType(s.type as string, v)) return false;
    if (Array.isArray(s.enum) && !s.enum.some((e) => e === v)) return false;
    if (typeof v === "string") {
        if (typeof s.minLength === "number" && v.length < s.minLength) return false;
        if (typeof s.maxLength === "number" && v.length > s.maxLength) return false;
        if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v)) return false;
    }
    if (Array.isArray(v)) {
        if (typeof s.minItems === "number" && v.length < s.minItems) return false;
        if (s.items && !v.every((item) => check(root, s.items as Schema, item))) return false;
    }
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        const props = (s.properties ?? {}) as Record<string, Schema>;
        if (Array.isArray(s.required) && !s.required.every((k) => k in o)) return false;
        for (const [k, val] of Object.entries(o)) {
            if (props[k]) {
                if (!check(root, props[k]!, val)) return false;
            } else if (s.additionalProperties === false) {
                return false;
            }
        }
    }
    if (Array.isArray(s.anyOf) && !s.anyOf.some((sub) => check(root, sub as Schema, v))) return false;
    if (Array.isArray(s.oneOf) && s.oneOf.filter((sub) => check(root, sub as Schema, v)).length !== 1) return false;
    if (s.not && check(root, s.not as Schema, v)) return false;
    return true;
}

function hasType(type: string, v: unknown): boolean {
    switch (type) {
        case "object":
            return typeof v === "object" && v !== null && !Array.isArray(v);
        case "array":
            return Array.isArray(v);
        case "null":
            return v === null;
        case "string":
            return typeof v === "string";
        default:
            throw new Error(`miniSchema: type ${type} not supported`);
    }
}
