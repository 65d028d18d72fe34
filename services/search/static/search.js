"use strict";
// The search page: query, facets, results and pages, all kept in the URL.

const params = new URLSearchParams(location.search);
const state = {
  q: params.get("q") || "",
  category: params.getAll("category"),
  brand: params.getAll("brand"),
  price: params.get("price") || "",
  sort: params.get("sort") || "relevance",
  page: parseInt(params.get("page") || "1", 10),
};

function query(overrides) {
  const s = { ...state, ...overrides };
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  s.category.forEach((c) => p.append("category", c));
  s.brand.forEach((b) => p.append("brand", b));
  if (s.price) p.set("price", s.price);
  if (s.sort !== "relevance") p.set("sort", s.sort);
  if (s.page > 1) p.set("page", String(s.page));
  return p;
}

function apiQuery() {
  const p = query({});
  p.delete("price");
  if (state.price) {
    const [low, high] = state.price.split("-");
    if (low) p.set("price_min", low);
    if (high) p.set("price_max", high);
  }
  p.set("page_size", "20");
  return p;
}

function go(overrides) {
  location.search = query({ page: 1, ...overrides }).toString();
}

function toggle(list, value) {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

function facetBlock(title, name, values, selected, onPick) {
  const block = el("section", { "data-facet": name });
  block.append(el("h3", { text: title }));
  const ul = el("ul");
  for (const f of values) {
    const on = selected.includes(f.value);
    const a = el("a", { href: "#", class: on ? "selected" : null, "data-value": f.value },
                 el("span", { text: f.label }), el("span", { class: "count", text: String(f.count) }));
    a.addEventListener("click", (e) => { e.preventDefault(); onPick(f.value); });
    ul.append(el("li", {}, a));
  }
  block.append(ul);
  return block;
}

function renderFacets(facets) {
  const aside = document.getElementById("facets");
  aside.replaceChildren();
  aside.append(facetBlock("Categoría", "category", facets.category, state.category,
                          (v) => go({ category: toggle(state.category, v) })));
  aside.append(facetBlock("Marca", "brand", facets.brand, state.brand,
                          (v) => go({ brand: toggle(state.brand, v) })));
  const prices = facets.price.slice();
  if (state.price && !prices.some((p) => p.value === state.price)) {
    prices.push({ value: state.price, label: state.price, count: 0 });
  }
  aside.append(facetBlock("Precio", "price", prices, state.price ? [state.price] : [],
                          (v) => go({ price: state.price === v ? "" : v })));
}

function renderResults(page) {
  const list = document.getElementById("results");
  list.replaceChildren();
  document.getElementById("summary").textContent =
    `${page.total} producto${page.total === 1 ? "" : "s"}` + (page.query ? ` para «${page.query}»` : "");
  if (!page.results.length) {
    list.append(el("li", { class: "empty", text: "No encontramos productos. Revisa la búsqueda o quita filtros." }));
  }
  for (const hit of page.results) {
    const href = `/producto/${encodeURIComponent(hit.id)}`;
    const name = el("a", { class: "name", href, text: hit.name });
    name.addEventListener("click", () => sendEvent("click", hit.id));
    const info = el("div", {}, name,
      el("div", { class: "meta", text: `${hit.brand} · ${hit.category_name}` }),
      el("div", { class: "meta", text: `${hit.offer_count} tienda${hit.offer_count === 1 ? "" : "s"}` }));
    const best = hit.best_offer;
    const price = el("div", { class: "price" },
      best ? clp.format(best.price) : "Sin stock",
      el("div", { class: "meta", text: best ? `en ${best.retailer}` : "" }));
    list.append(el("li", { class: "result", "data-id": hit.id }, info, price));
  }
  const pager = document.getElementById("pager");
  pager.replaceChildren();
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  if (pages > 1) {
    const prev = el("button", { type: "button", text: "← Anterior" });
    prev.disabled = page.page <= 1;
    prev.addEventListener("click", () => { location.search = query({ page: page.page - 1 }).toString(); });
    const next = el("button", { type: "button", text: "Siguiente →" });
    next.disabled = page.page >= pages;
    next.addEventListener("click", () => { location.search = query({ page: page.page + 1 }).toString(); });
    pager.append(prev, el("span", { class: "meta", text: `Página ${page.page} de ${pages}` }), next);
  }
}

async function load() {
  document.getElementById("q").value = state.q;
  document.getElementById("sort").value = state.sort;
  const resp = await fetch(`/search?${apiQuery()}`);
  if (!resp.ok) {
    document.getElementById("summary").textContent = "La búsqueda no está disponible ahora.";
    return;
  }
  const page = await resp.json();
  renderFacets(page.facets);
  renderResults(page);
  document.body.dataset.loaded = "true";
}

document.getElementById("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  go({ q: document.getElementById("q").value.trim(), category: [], brand: [], price: "" });
});
document.getElementById("sort").addEventListener("change", (e) => go({ sort: e.target.value }));
load();
