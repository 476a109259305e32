import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newWebhookSecret, signWebhook, webhookAddressProblem, webhookUrlProblem } from "../src/webhooks";

describe("webhook signatures", () => {
  it("signs '<t>.<body>' with HMAC-SHA256 of the secret, as Stripe's scheme does", () => {
    const secret = newWebhookSecret();
    const body = '{"id":"bal_1","type":"budget.threshold"}';
    const header = signWebhook(secret, body, 1_764_806_400);
    const v1 = createHmac("sha256", secret).update(`1764806400.${body}`).digest("hex");
    expect(header).toBe(`t=1764806400,v1=${v1}`);
    expect(signWebhook(secret, `${body} `, 1_764_806_400)).not.toBe(header);
    expect(secret).not.toBe(newWebhookSecret());
  });
});

describe("where webhooks may go", () => {
  const strict = { allowLoopback: false };
  it.each([
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "127.0.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fe80::1",
    "fd00::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:a00:1",
    "64:ff9b::a00:1",
  ])("refuses %s", (ip) => {
    expect(webhookAddressProblem(ip, strict)).not.toBeNull();
  });
  it.each(["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])("allows the public %s", (ip) => {
    expect(webhookAddressProblem(ip, strict)).toBeNull();
  });
  it("allows loopback only when told to, and never a private address", () => {
    expect(webhookAddressProblem("127.0.0.1", { allowLoopback: true })).toBeNull();
    expect(webhookAddressProblem("::1", { allowLoopback: true })).toBeNull();
    expect(webhookAddressProblem("10.0.0.1", { allowLoopback: true })).not.toBeNull();
  });
  it("takes https URLs without credentials, and http only to loopback when allowed", () => {
    const no = { allowLoopbackHttp: false };
    const yes = { allowLoopbackHttp: true };
    expect(webhookUrlProblem("https://hooks.example.com/berth", no)).toBeNull();
    expect(webhookUrlProblem("http://hooks.example.com/berth", yes)).toBe("must be https");
    expect(webhookUrlProblem("http://127.0.0.1:9999/h", no)).toBe("must be https");
    expect(webhookUrlProblem("http://127.0.0.1:9999/h", yes)).toBeNull();
    expect(webhookUrlProblem("http://localhost:9999/h", yes)).toBeNull();
    expect(webhookUrlProblem("https://localhost/h", no)).toMatch(/loopback/);
    expect(webhookUrlProblem("https://[::1]/h", no)).toMatch(/loopback/);
    expect(webhookUrlProblem("https://10.0.0.8/h", yes)).toMatch(/private/);
    expect(webhookUrlProblem("https://a:b@example.com/", no)).toMatch(/credentials/);
    expect(webhookUrlProblem("ftp://example.com/", no)).toBe("must be https");
    expect(webhookUrlProblem("nope", no)).toMatch(/absolute/);
  });
});
