/**
 * Paragraph HTML comes from the database, i.e. from anyone: keep only the formatting the
 * editor makes (bold, italic, lists, paragraphs, line breaks) and drop every attribute.
 */
const ALLOWED = new Set(['P', 'DIV', 'BR', 'B', 'STRONG', 'I', 'EM', 'U', 'UL', 'OL', 'LI']);

export function sanitize(html: string): string {
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, 'text/html');
  const root = doc.body.firstElementChild;
  if (!root) return '';
  const clean = (el: Element): void => {
    for (const child of [...el.childNodes]) {
      if (child.nodeType === Node.TEXT_NODE) continue;
      if (!(child instanceof Element)) {
        child.remove();
        continue;
      }
      if (!ALLOWED.has(child.tagName)) {
        if (/^(SCRIPT|STYLE|IFRAME|OBJECT|EMBED|TEMPLATE)$/.test(child.tagName)) child.remove();
        else {
          clean(child);
          child.replaceWith(...child.childNodes);
        }
        continue;
      }
      for (const a of [...child.attributes]) child.removeAttribute(a.name);
      clean(child);
    }
  };
  clean(root);
  return root.innerHTML;
}

export function escapeText(text: string): string {
  const div = document.createElement('div');
  div.textContent = text;
  return div.innerHTML;
}

/** Plain text lines as paragraphs. */
export function textToHtml(text: string): string {
  return text
    .split('\n')
    .map((l) => `<p>${escapeText(l) || '<br>'}</p>`)
    .join('');
}
