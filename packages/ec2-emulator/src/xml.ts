/** The namespace of every EC2 reply for API version 2016-11-15. */
export const EC2_VERSION = "2016-11-15";
export const EC2_NAMESPACE = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;

/** Already-rendered XML, so text and markup cannot be confused. */
export interface Xml {
  readonly xml: string;
}

type Content = Xml | string | number | boolean | Date | undefined;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(content: Content): string {
  if (content === undefined) return "";
  if (typeof content === "string") return escapeXml(content);
  if (typeof content === "number" || typeof content === "boolean") return String(content);
  if (content instanceof Date) return content.toISOString();
  return content.xml;
}

/** `<name>content</name>`; an `undefined` content leaves the element out, as EC2 does. */
export function el(name: string, content: Content): Xml {
  if (content === undefined) return { xml: "" };
  const inner = render(content);
  return { xml: inner === "" ? `<${name}/>` : `<${name}>${inner}</${name}>` };
}

/** Several elements side by side. */
export function seq(...parts: Xml[]): Xml {
  return { xml: parts.map((p) => p.xml).join("") };
}

/** An EC2 list: `<name><item>…</item>…</name>`. */
export function items<T>(name: string, values: readonly T[], item: (value: T) => Xml): Xml {
  return el(name, seq(...values.map((v) => el("item", item(v)))));
}

/** A successful reply: `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`. */
export function response(action: string, requestId: string, body: Xml): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${action}Response xmlns="${EC2_NAMESPACE}">${el("requestId", requestId).xml}${body.xml}</${action}Response>`
  );
}

/** EC2's error envelope (not namespaced, `RequestID` capitalised, as EC2 sends it). */
export function errorResponse(code: string, message: string, requestId: string): string {
  const error = el("Error", seq(el("Code", code), el("Message", message)));
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<Response>${el("Errors", error).xml}${el("RequestID", requestId).xml}</Response>`
  );
}
