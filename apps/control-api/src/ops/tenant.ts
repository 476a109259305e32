import { brn, defineOperation as op } from "../operation";
import {
  closedTenantReply,
  closeTenant,
  closeTenantInput,
  emptyTenantInput,
  getTenant,
  tenantReply,
  updateTenant,
  updateTenantInput,
} from "../services/tenant";

/** The tenant (account) itself: its settings and its closure. */
export const tenantOperations = {
  getTenant: op({
    id: "tenant.get",
    summary: "The caller's tenant: its status and settings",
    method: "GET",
    path: "/v1/tenant",
    auth: "user",
    action: "tenant:Describe",
    resource: (c) => brn(c.tenantId, "tenant"),
    successStatus: 200,
    input: emptyTenantInput,
    output: tenantReply,
    run: (deps, caller) => getTenant(deps, caller),
  }),
  updateTenant: op({
    id: "tenant.update",
    summary: "Change the tenant's settings: the image prefixes its pods may use",
    method: "PATCH",
    path: "/v1/tenant",
    auth: "user",
    action: "tenant:Update",
    resource: (c) => brn(c.tenantId, "tenant"),
    successStatus: 200,
    input: updateTenantInput,
    output: tenantReply,
    run: updateTenant,
  }),
  closeTenant: op({
    id: "tenant.close",
    summary:
      "Close the tenant: principals locked out, keys revoked, clusters deleted; data erased after the retention period",
    method: "POST",
    path: "/v1/tenant/close",
    auth: "user",
    action: "tenant:Close",
    resource: (c) => brn(c.tenantId, "tenant"),
    successStatus: 202,
    input: closeTenantInput,
    output: closedTenantReply,
    run: closeTenant,
  }),
};
