import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ActionContext } from "./actions/context";
import { findAction } from "./actions/index";
import { Ec2Error } from "./errors";
import { boolean, optional, type Params, parseParams, required } from "./params";
import type { Ec2Call } from "./types";
import { EC2_VERSION, errorResponse, response } from "./xml";

const BODY_LIMIT = 1024 * 1024;

/**
 * What a SigV4 `Authorization` header looks like. The signature is not verified: the emulator
 * holds no secret keys (any access key is accepted, like every local AWS emulator), so checking
 * it would only test that the SDK can compute HMACs. What is checked is that a signing client
 * is talking to it, scoped to the ec2 service; the region comes from the credential scope.
 */
const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=[^/\s,]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;

export interface ServerDeps {
  context: Omit<ActionContext, "region">;
  record(call: Ec2Call): void;
}

function authorize(header: string | undefined): string {
  if (header === undefined) {
    throw new Ec2Error("AuthFailure", "AWS was not able to validate the provided access credentials");
  }
  const match = SIGV4.exec(header);
  if (match === null) {
    throw new Ec2Error("AuthFailure", "Authorization header is not a valid AWS Signature Version 4");
  }
  if (match[2] !== "ec2") {
    throw new Ec2Error(
      "AuthFailure",
      `Credential should be scoped to correct service: 'ec2'. Got '${match[2]}'.`,
    );
  }
  return match[1] ?? "us-east-1";
}

function dispatch(
  deps: ServerDeps,
  params: Params,
  authorization: string | undefined,
  requestId: string,
): string {
  const region = authorize(authorization);
  const action = required(params, "Action");
  const version = required(params, "Version");
  if (version !== EC2_VERSION) {
    throw new Ec2Error("NoSuchVersion", `An invalid or unsupported API version: ${version}`);
  }
  const handler = findAction(action);
  if (handler === undefined) {
    throw new Ec2Error("InvalidAction", `The action ${action} is not valid for this web service.`);
  }
  // Permissions are all that EC2 checks on a dry run, and every caller here has them all.
  if (boolean(params, "DryRun") === true) {
    throw new Ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.");
  }
  return response(action, requestId, handler({ ...deps.context, region }, params));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > BODY_LIMIT) {
      throw new Ec2Error("InvalidParameterValue", `The request body exceeds ${BODY_LIMIT} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The request id goes in the body and in `x-amzn-requestid`, which is where the SDK reads `$metadata.requestId`. */
function send(res: ServerResponse, status: number, requestId: string, body: string): void {
  res.writeHead(status, {
    "content-type": "text/xml;charset=UTF-8",
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": requestId,
  });
  res.end(body);
}

/**
 * The EC2 Query API over HTTP: form-encoded POST (or GET with a query string), `Action` and
 * `Version` among the parameters, XML replies in EC2's namespace, EC2's XML error envelope.
 */
export function requestListener(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      const requestId = randomUUID();
      const query = new URL(req.url ?? "/", "http://localhost").search.slice(1);
      try {
        const params = parseParams(query, req.method === "POST" ? await readBody(req) : "");
        deps.record({ action: optional(params, "Action") ?? "", params: { ...params } });
        send(res, 200, requestId, dispatch(deps, params, req.headers.authorization, requestId));
      } catch (error) {
        const e =
          error instanceof Ec2Error
            ? error
            : new Ec2Error("InternalError", `An internal error has occurred: ${String(error)}`);
        send(res, e.status, requestId, errorResponse(e.code, e.message, requestId));
      }
    })().catch(() => res.destroy());
  };
}
