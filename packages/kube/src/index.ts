/**
 * Berth's Kubernetes object model: the shapes tenants write (Kubernetes' field names, defaults and
 * validation rules), admission (Pod Security "restricted", resource bounds), and the stored specs
 * the control loops and node agents work from. Pure: no I/O, no clock.
 */
export * from "./autoscaling/behavior";
export * from "./autoscaling/pass";
export * from "./autoscaling/replicas";
export * from "./diff";
export * from "./documents";
export * from "./kinds/autoscaling";
export * from "./kinds/common";
export * from "./kinds/config";
export * from "./kinds/deployment";
export * from "./kinds/ingress";
export * from "./kinds/job";
export * from "./kinds/network-policy";
export * from "./kinds/policy";
export * from "./kinds/scheduling";
export * from "./kinds/service";
export * from "./kinds/storage";
export * from "./kinds/tls-secret";
export * from "./meta";
export * from "./network/endpoints";
export * from "./network/pod-range";
export * from "./network/policies";
export * from "./network/service-range";
export * from "./parse";
export * from "./pod/affinity";
export * from "./pod/container";
export * from "./pod/env";
export * from "./pod/extended";
export * from "./pod/limit-range";
export * from "./pod/normalise";
export * from "./pod/pod-security";
export * from "./pod/priority";
export * from "./pod/probe";
export * from "./pod/resolve";
export * from "./pod/resources";
export * from "./pod/security-context";
export * from "./pod/spec";
export * from "./pod/template";
export * from "./pod/totals";
export * from "./pod/volumes";
export * from "./registry";
export * from "./render/kinds";
export * from "./render/pod";
export * from "./selector";
