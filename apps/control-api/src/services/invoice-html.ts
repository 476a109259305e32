import type { InvoiceView } from "./invoices";
import { escapeMarkup } from "./markup";

/** A month as people write it: `November 2026`. */
const monthName = (iso: string) =>
  new Date(iso).toLocaleDateString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });

/**
 * An invoice as a printable page (the browser's "Print to PDF" gives the PDF): who is billed, the
 * number and period (or DRAFT), every line with its quantity, unit price and amount, adjustments
 * of earlier months apart, and the total. Self-contained: no script, no external resource.
 */
export function invoiceToHtml(inv: InvoiceView): string {
  const title = inv.number === null ? `Draft invoice ${inv.id}` : `Invoice ${inv.number}`;
  const row = (l: InvoiceView["lines"][number]) =>
    `<tr><td>${l.lineNo}</td><td>${l.kind === "adjustment" ? `adjustment (${escapeMarkup(l.usagePeriod)})` : escapeMarkup(l.usagePeriod)}</td>` +
    `<td>${escapeMarkup(l.clusterId)}</td><td>${escapeMarkup(l.meter)}</td><td class="n">${escapeMarkup(l.quantity)} ${escapeMarkup(l.unit)}</td>` +
    `<td class="n">${escapeMarkup(l.unitPrice)}</td><td class="n">${escapeMarkup(l.amount)}</td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeMarkup(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#111}
h1{margin:0 0 .25rem}table{border-collapse:collapse;width:100%;margin-top:1.5rem}
th,td{padding:.35rem .5rem;border-bottom:1px solid #ddd;text-align:left}
.n{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:bold;border-top:2px solid #111}
.draft{color:#b00}@media print{body{margin:0}}
</style></head><body>
<h1>${escapeMarkup(title)}${inv.status === "draft" ? ' <span class="draft">DRAFT</span>' : ""}</h1>
<p>Billed to ${escapeMarkup(inv.billedTo.name)} (${escapeMarkup(inv.billedTo.tenantId)})<br>
Period: ${escapeMarkup(monthName(inv.periodStart))} (${escapeMarkup(inv.periodStart)} to ${escapeMarkup(inv.periodEnd)})<br>
${inv.finalizedAt ? `Finalised ${escapeMarkup(inv.finalizedAt)}` : "Not final: usage of the month may still change"}<br>
Currency: ${escapeMarkup(inv.currency)}</p>
<table><thead><tr><th>#</th><th>usage</th><th>cluster</th><th>meter</th><th class="n">quantity</th><th class="n">unit price</th><th class="n">amount</th></tr></thead>
<tbody>${inv.lines.map(row).join("\n")}</tbody>
<tfoot><tr><td colspan="6">Total</td><td class="n">${escapeMarkup(inv.total)} ${escapeMarkup(inv.currency)}</td></tr></tfoot></table>
<p>Amounts are exact to the micro-unit; each line is rounded once, half away from zero; the total is the sum of the lines.</p>
</body></html>
`;
}
