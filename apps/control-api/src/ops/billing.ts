import { brn, defineOperation as op } from "../operation";
import { invoiceToHtml } from "../services/invoice-html";
import {
  getInvoice,
  getInvoiceInput,
  invoiceReply,
  invoiceSummaryReply,
  invoiceToCsv,
  listInvoices,
  listInvoicesInput,
} from "../services/invoices";
import { listOf } from "../services/replies";
import { chartSvg, usageChart, usageChartInput } from "../services/usage-chart";
import { usageReportReply } from "../services/usage-report";

/** Invoices: drafts of months not yet finalised, and finalised (immutable, numbered) ones. */
export const billingOperations = {
  listInvoices: op({
    id: "invoices.list",
    summary:
      "The tenant's invoices: drafts of the running (and a just-ended) month, then finalised ones, newest first",
    method: "GET",
    path: "/v1/invoices",
    auth: "user",
    action: "invoice:List",
    resource: (c) => brn(c.tenantId, "invoice/*"),
    successStatus: 200,
    input: listInvoicesInput,
    output: listOf(invoiceSummaryReply),
    run: (deps, caller) => listInvoices(deps, caller),
  }),
  usageChart: op({
    id: "usage.chart",
    summary:
      "Cost per day stacked by cluster, namespace, meter or label:<key>, as an SVG (tRPC: the figures)",
    method: "GET",
    path: "/v1/usage/chart.svg",
    auth: "user",
    action: "usage:Read",
    resource: (c) => brn(c.tenantId, "usage"),
    successStatus: 200,
    input: usageChartInput,
    output: usageReportReply,
    run: usageChart,
    render: (value, input) => ({
      contentType: "image/svg+xml; charset=utf-8",
      body: chartSvg(value, new Date(input.from), new Date(input.to)),
    }),
  }),
  getInvoice: op({
    id: "invoices.get",
    summary:
      "An invoice with its lines per cluster × meter and adjustments (JSON, CSV with format=csv, a printable page with format=html)",
    method: "GET",
    path: "/v1/invoices/:invoiceId",
    auth: "user",
    action: "invoice:Read",
    resource: (c, i) => brn(c.tenantId, `invoice/${i.invoiceId}`),
    successStatus: 200,
    input: getInvoiceInput,
    output: invoiceReply,
    run: getInvoice,
    render: (value, input) =>
      input.format === "csv"
        ? { contentType: "text/csv; charset=utf-8", body: invoiceToCsv(value) }
        : input.format === "html"
          ? { contentType: "text/html; charset=utf-8", body: invoiceToHtml(value) }
          : undefined,
  }),
};
