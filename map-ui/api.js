// The requests the viewer makes, all to the serving citygrid (same origin).

async function json(response) {
  if (!response.ok) {
    let detail = '';
    try { detail = (await response.json()).detail ?? ''; } catch { /* not a problem document */ }
    throw new Error(`${response.status} ${detail}`);
  }
  return response.json();
}

export const getJson = (path) => fetch(path, { headers: { accept: 'application/json' } }).then(json);

export const postJson = (path, body) =>
  fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) })
    .then(json);

export async function postText(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(String(r.status));
  return r.text();
}

const schemas = new Map();
/** The property schema of a collection, fetched once. */
export function schema(collection) {
  if (!schemas.has(collection)) schemas.set(collection, getJson(`/collections/${encodeURIComponent(collection)}/schema`));
  return schemas.get(collection);
}

/** A CQL2 text string literal. */
export const cqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;
