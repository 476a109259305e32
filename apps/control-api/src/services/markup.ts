/** Text made safe inside HTML or XML elements and quoted attributes (SVG charts, printable invoices). */
export const escapeMarkup = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
