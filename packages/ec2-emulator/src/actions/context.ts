import type { Lifecycle } from "../lifecycle";
import type { Params } from "../params";
import type { InstanceStore } from "../store";
import type { Xml } from "../xml";

/** What every action handler is given: the emulator's state and facts about the request. */
export interface ActionContext {
  store: InstanceStore;
  lifecycle: Lifecycle;
  /** From the SigV4 credential scope (`Credential=<key>/<date>/<region>/ec2/aws4_request`). */
  region: string;
}

/** One EC2 action: validated parameters in, the body of `<ActionResponse>` out, or an `Ec2Error`. */
export type ActionHandler = (ctx: ActionContext, params: Params) => Xml;
