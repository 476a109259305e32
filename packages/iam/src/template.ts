/**
 * Policy strings as tokens: literal text, the `*` and `?` wildcards, and policy variables.
 *
 * AWS, "IAM policy elements: Variables and tags"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html):
 * - `${key}` is replaced by the value of the request context key `key` (keys are
 *   case-insensitive, so the name is kept lower-cased);
 * - `${*}`, `${?}` and `${$}` stand for a literal `*`, `?` and `$` ("Special characters");
 * - a `$` not followed by `{` is an ordinary character.
 * Default values (`${key, 'default'}`) are not part of Berth's language: such a string is
 * malformed, and the parser rejects it.
 */

/** Literal text or a policy variable: all a string without wildcards holds. */
export type TextToken =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "var"; readonly key: string };

export type Token = TextToken | { readonly kind: "star" } | { readonly kind: "one" };

const VARIABLE_NAME = /^[A-Za-z0-9_-]+:[A-Za-z0-9_./:@+=-]+$/;
const ESCAPES: Readonly<Record<string, string>> = { "*": "*", "?": "?", $: "$" };

/**
 * Splits `pattern` into tokens; adjacent literal text is merged. With `wildcards: false`
 * (StringEquals and friends) `*` and `?` are literal. Returns null when a `${` is not
 * closed, is empty, or names something that is not a context key.
 */
export function tokenize(pattern: string, wildcards: false): TextToken[] | null;
export function tokenize(pattern: string, wildcards: boolean): Token[] | null;
export function tokenize(pattern: string, wildcards: boolean): Token[] | null {
  const tokens: Token[] = [];
  let text = "";
  const flush = (): void => {
    if (text !== "") tokens.push({ kind: "text", text });
    text = "";
  };
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern.charAt(i);
    if (ch === "$" && pattern.charAt(i + 1) === "{") {
      const close = pattern.indexOf("}", i + 2);
      if (close < 0) return null;
      const name = pattern.slice(i + 2, close);
      const escaped = ESCAPES[name];
      if (escaped !== undefined) {
        text += escaped;
      } else if (VARIABLE_NAME.test(name)) {
        flush();
        tokens.push({ kind: "var", key: name.toLowerCase() });
      } else {
        return null;
      }
      i = close + 1;
      continue;
    }
    if (wildcards && (ch === "*" || ch === "?")) {
      flush();
      tokens.push(ch === "*" ? { kind: "star" } : { kind: "one" });
    } else {
      text += ch;
    }
    i += 1;
  }
  flush();
  return tokens;
}

/** Looks a policy variable up: the single string value of that context key, if there is one. */
export type Resolve = (lowerCaseKey: string) => string | undefined;

/**
 * A string with variables but no wildcards, resolved per request (StringEquals, Bool).
 * Returns undefined when a variable has no value: AWS treats such a value as matching
 * nothing ("Policy variables with no value").
 */
export function resolveText(tokens: readonly TextToken[], resolve: Resolve): string | undefined {
  let out = "";
  for (const token of tokens) {
    if (token.kind === "text") {
      out += token.text;
      continue;
    }
    const value = resolve(token.key);
    if (value === undefined) return undefined;
    out += value;
  }
  return out;
}
