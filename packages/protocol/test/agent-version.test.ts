import { describe, expect, it } from "vitest";
import { AGENT_RELEASE, agentSkew, heartbeatReplySchema, parseAgentVersion } from "../src";

describe("an agent's version", () => {
  it.each([
    ["0.1.0", { major: 0, minor: 1, patch: 0 }],
    ["0.1.0+3f9c0a1b2c4d", { major: 0, minor: 1, patch: 0 }],
    ["1.12.3-rc.1+build.7", { major: 1, minor: 12, patch: 3 }],
  ])("reads %s as its release", (version, release) => {
    expect(parseAgentVersion(version)).toEqual(release);
  });

  it.each(["test", "hollow", "0.1", "v0.1.0", "0.01.0", "0.1.0+", "0.1.0 ", "1.2.3+a b", ""])(
    "refuses %j",
    (version) => {
      expect(parseAgentVersion(version)).toBeNull();
    },
  );

  it("of this source is a release", () => {
    expect(parseAgentVersion(AGENT_RELEASE)).not.toBeNull();
  });
});

describe("the skew a control plane admits", () => {
  it("admits its own release, any patch or build of it, and agents up to 2 minor releases older", () => {
    for (const agent of ["1.5.0", "1.5.9", "1.5.0+3f9c0a1b2c4d", "1.4.2", "1.3.0", "1.3.7-rc.1"])
      expect(agentSkew("1.5.3", agent)).toEqual({ ok: true });
  });

  it("refuses an agent newer than the control plane (major.minor), saying what it admits", () => {
    const v = agentSkew("1.5.3", "1.6.0+3f9c0a1b2c4d");
    expect(v).toMatchObject({ ok: false, reason: "newer" });
    expect(v.ok === false && v.message).toBe(
      "agent 1.6.0+3f9c0a1b2c4d (1.6) is newer than this control plane (1.5); an agent may not be newer than its control plane: admitted are 1.3 to 1.5",
    );
  });

  it("refuses an agent more than 2 minor releases older", () => {
    const v = agentSkew("1.5.0", "1.2.9");
    expect(v).toMatchObject({ ok: false, reason: "older" });
    expect(v.ok === false && v.message).toMatch(
      /more than 2 minor releases older .* admitted are 1\.3 to 1\.5$/,
    );
  });

  it("refuses an agent of another major release, older or newer", () => {
    expect(agentSkew("1.0.0", "0.9.0")).toMatchObject({ ok: false, reason: "major" });
    expect(agentSkew("1.0.0", "2.0.0")).toMatchObject({ ok: false, reason: "major" });
    // The window does not reach back into the previous major: 1.0 admits only 1.0.
    expect(agentSkew("1.1.0", "0.99.0")).toMatchObject({ ok: false, reason: "major" });
    const v = agentSkew("1.1.0", "0.99.0");
    expect(v.ok === false && v.message).toMatch(/admits agents 1\.0 to 1\.1$/);
  });

  it("admits at the lower edge of the window at minor 0 and 1", () => {
    expect(agentSkew("0.1.0", "0.0.5")).toEqual({ ok: true });
    expect(agentSkew("0.0.1", "0.0.0")).toEqual({ ok: true });
    expect(agentSkew("0.0.1", "0.1.0")).toMatchObject({ ok: false, reason: "newer" });
  });

  it("calls a version it cannot read malformed", () => {
    expect(agentSkew("1.0.0", "latest")).toMatchObject({ ok: false, reason: "malformed" });
  });

  it("is a rule of the control plane's own release, which must be a version", () => {
    expect(() => agentSkew("dev", "1.0.0")).toThrow(/not a version/);
  });
});

describe("the heartbeat reply", () => {
  it("parses with or without an announced agent (older control planes announce none)", () => {
    const base = { nodeId: "node_1", leave: false, heartbeatIntervalMs: 2000 };
    expect(heartbeatReplySchema.parse(base).agent).toBeUndefined();
    const agent = {
      version: "0.1.0+3f9c0a1b2c4d",
      sha256: "a".repeat(64),
      url: "/v1/agent/x/berth-node-agent.mjs",
    };
    expect(heartbeatReplySchema.parse({ ...base, agent }).agent).toEqual(agent);
    // Whatever a newer control plane adds is ignored, not refused.
    expect(heartbeatReplySchema.parse({ ...base, somethingNew: 1 })).toEqual(base);
  });
});
