"use strict";
// The product page: attributes, every store's offer and the price history chart.

const productId = decodeURIComponent(location.pathname.split("/").pop());
const COLORS = ["#0b6bcb", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#e67700", "#1098ad"];

function chart(history) {
  // One line per store, drawn as inline SVG: steps from each observed price to the next.
  const W = 760, H = 260, L = 80, R = 16, T = 14, B = 30;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("id", "price-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Historial de precios");
  const ns = (tag, attrs) => {
    const n = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  };
  if (!history.length) return svg;
  const times = history.map((h) => Date.parse(h.observed_at));
  const prices = history.map((h) => h.price);
  let t0 = Math.min(...times), t1 = Math.max(...times, Date.now());
  if (t1 === t0) t1 = t0 + 1;
  let p0 = Math.min(...prices), p1 = Math.max(...prices);
  const pad = Math.max((p1 - p0) * 0.1, p1 * 0.02, 1);
  p0 = Math.max(0, p0 - pad); p1 = p1 + pad;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (p) => T + (1 - (p - p0) / (p1 - p0)) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const p = p0 + ((p1 - p0) * i) / 4;
    svg.append(ns("line", { x1: L, x2: W - R, y1: y(p), y2: y(p), stroke: "#e4e8ef" }));
    const label = ns("text", { x: L - 6, y: y(p) + 4, "text-anchor": "end" });
    label.textContent = clp.format(Math.round(p));
    svg.append(label);
  }
  for (const [t, anchor] of [[t0, "start"], [t1, "end"]]) {
    const label = ns("text", { x: x(t), y: H - 8, "text-anchor": anchor });
    label.textContent = new Date(t).toLocaleDateString("es-CL");
    svg.append(label);
  }
  const byStore = new Map();
  history.forEach((h, i) => {
    if (!byStore.has(h.retailer)) byStore.set(h.retailer, []);
    byStore.get(h.retailer).push([times[i], h.price]);
  });
  const legend = [];
  [...byStore.entries()].forEach(([store, points], i) => {
    const color = COLORS[i % COLORS.length];
    let d = "";
    points.forEach(([t, p], j) => {
      d += j === 0 ? `M${x(t)},${y(p)}` : `H${x(t)}V${y(p)}`;
    });
    d += `H${x(t1)}`;
    svg.append(ns("path", { d, fill: "none", stroke: color, "stroke-width": 2,
                            "data-retailer": store, class: "series" }));
    for (const [t, p] of points) {
      svg.append(ns("circle", { cx: x(t), cy: y(p), r: 3, fill: color }));
    }
    legend.push(el("span", { style: `--c:${color}`, text: store }));
  });
  const wrap = el("div", {}, svg, el("div", { class: "legend" }, ...legend));
  return wrap;
}

function offersTable(offers) {
  const table = el("table", { class: "offers", id: "offers" });
  table.append(el("thead", {}, el("tr", {},
    el("th", { text: "Tienda" }), el("th", { class: "num", text: "Precio" }),
    el("th", { class: "num", text: "Precio normal" }),
    el("th", { text: "Stock" }), el("th", { text: "" }))));
  const body = el("tbody");
  for (const o of offers) {
    const link = o.url ? el("a", { href: o.url, rel: "nofollow noopener", target: "_blank",
                                   text: "Ir a la tienda" }) : "";
    if (link) link.addEventListener("click", () => sendEvent("click", productId));
    body.append(el("tr", { "data-retailer": o.retailer },
      el("td", { text: o.retailer }),
      el("td", { class: "num price-cell", text: clp.format(o.price) }),
      el("td", { class: "num", text: o.price_original ? clp.format(o.price_original) : "—" }),
      el("td", { text: STOCK[o.stock_status] || o.stock_status }),
      el("td", {}, link)));
  }
  table.append(body);
  return table;
}

async function similar(id) {
  const resp = await fetch(`/products/${encodeURIComponent(id)}/similar?k=6`);
  if (!resp.ok) return null;
  const data = await resp.json();
  if (!data.results.length) return null;
  const ul = el("ul", { class: "results" });
  for (const h of data.results) {
    ul.append(el("li", { class: "result" },
      el("a", { class: "name", href: `/producto/${encodeURIComponent(h.id)}`, text: h.name }),
      el("div", { class: "price", text: h.best_offer ? clp.format(h.best_offer.price) : "Sin stock" })));
  }
  return el("section", { class: "card", id: "similar" }, el("h2", { text: "Productos similares" }), ul);
}

async function load() {
  const root = document.getElementById("product");
  const resp = await fetch(`/products/${encodeURIComponent(productId)}`);
  if (!resp.ok) {
    root.replaceChildren(el("p", { class: "empty", text: "Este producto ya no está disponible." }));
    return;
  }
  const p = await resp.json();
  document.title = `${p.name} · Comparador de precios`;
  const attrs = el("dl", { class: "attrs" });
  for (const [k, v] of Object.entries(p.attributes)) {
    attrs.append(el("dt", { text: k.replaceAll("_", " ") }), el("dd", { text: String(v) }));
  }
  const best = p.offers.length ? p.offers[0] : null;
  root.replaceChildren(
    el("section", { class: "card" },
      el("h1", { id: "product-name", text: p.name }),
      el("div", { class: "meta" }, el("span", { class: "chip", text: p.brand }),
         el("span", { class: "chip", text: p.category_name }),
         p.model ? el("span", { class: "chip", text: `Modelo ${p.model}` }) : ""),
      best ? el("p", { class: "price", style: "text-align:left" },
                `Desde ${clp.format(best.price)} en ${best.retailer}`) : ""),
    el("section", { class: "card" }, el("h2", { text: `Precios en ${p.offers.length} tienda${p.offers.length === 1 ? "" : "s"}` }),
       offersTable(p.offers)),
    el("section", { class: "card" }, el("h2", { text: "Historial de precios" }), chart(p.price_history)),
    el("section", { class: "card" }, el("h2", { text: "Características" }), attrs));
  const more = await similar(p.id);
  if (more) root.append(more);
  document.body.dataset.loaded = "true";
  sendEvent("view", p.id);
}

load();
